"""The LFCC and raw front-ends, and int16 storage of waveforms."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import soundfile as sf
import yaml
from helpers import REPO, speechlike

from fraudprep.extraction.audio_io import _read_float32, mix_to_mono
from fraudprep.extraction.features import (
    LfccExtractor,
    RawExtractor,
    deltas,
    fix_length,
    linear_filterbank,
    make_extractor,
)
from fraudprep.extraction.store import to_storage_dtype
from fraudprep.run.settings import profile_from_mapping

PROFILES = yaml.safe_load((REPO / "config.yaml").read_text())["feature_profiles"]


def shipped(name: str):
    return profile_from_mapping(name, PROFILES[name])


def test_lfcc_profile_is_the_asvspoof_baseline_shape():
    profile = shipped("lfcc")
    assert (profile.win_length, profile.hop_length, profile.n_fft) == (320, 160, 1024)
    features = make_extractor(profile)(speechlike(2.5, 16000))
    assert features.shape == (60, 401) == profile.output_shape
    assert features.dtype == np.float32 and np.isfinite(features).all()


def test_lfcc_power_spectrum_matches_librosa_stft():
    extractor = LfccExtractor(shipped("lfcc"))
    signal = speechlike(4.0, 16000, seed=3)
    reference = np.abs(librosa.stft(signal, n_fft=1024, hop_length=160, win_length=320)) ** 2
    np.testing.assert_allclose(extractor.power(signal).T, reference, rtol=1e-3, atol=1e-4)


def test_lfcc_is_dct_of_log_linear_filterbank_energies():
    profile = shipped("lfcc")
    extractor = LfccExtractor(profile)
    signal = speechlike(4.0, 16000, seed=5)
    energies = linear_filterbank(16000, 1024, 20).astype(np.float64) @ extractor.power(signal).T
    cepstra = scipy.fft.dct(np.log(np.maximum(energies, 1e-10)), type=2, norm="ortho", axis=0)
    features = extractor(signal)
    np.testing.assert_allclose(features[:20], cepstra[:20], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(features[20:40], deltas(features[:20]), rtol=1e-6)


def test_linear_filters_are_evenly_spaced_triangles():
    bank = linear_filterbank(16000, 1024, 20)
    peaks = bank.argmax(axis=1)
    assert np.all(np.diff(peaks) > 0)
    assert np.ptp(np.diff(peaks)) <= 1  # linear spacing, up to bin rounding
    assert bank.max() <= 1.0 and bank.min() >= 0.0


def test_deltas_of_a_ramp_are_its_slope():
    ramp = np.tile(np.arange(10, dtype=np.float32) * 3, (2, 1))
    np.testing.assert_allclose(deltas(ramp)[:, 2:-2], 3.0)


def test_raw_profile_repeats_short_clips_like_aasist():
    profile = shipped("raw")
    assert profile.output_shape == (64600,)
    short = speechlike(1.0, 16000)
    waveform = RawExtractor(profile)(short)
    assert waveform.shape == (64600,) and waveform.dtype == np.float32
    np.testing.assert_array_equal(waveform[16000:32000], short)
    np.testing.assert_array_equal(fix_length(short, 20, "zeros"), short[:20])


def test_int16_storage_scales_and_clips():
    stored = to_storage_dtype(np.array([0.0, 0.5, -1.0, 1.2], np.float32), np.dtype(np.int16))
    assert stored.tolist() == [0, 16384, -32767, 32767]


@pytest.mark.parametrize("channels", [1, 2, 8])
def test_mix_to_mono_is_the_channel_mean(channels: int):
    rng = np.random.default_rng(channels)
    samples = rng.uniform(-1, 1, size=(5000, channels)).astype(np.float32)
    mono = mix_to_mono(samples)
    assert mono.dtype == np.float32 and mono.shape == (5000,)
    np.testing.assert_allclose(mono, samples.mean(axis=1, dtype=np.float64), atol=1e-6)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_pcm16_read_matches_libsndfile_float_conversion(tmp_path, suffix: str):
    rng = np.random.default_rng(7)
    pcm = rng.integers(-32768, 32767, size=(4000, 2), dtype=np.int16)
    pcm[:4] = [[-32768, 32767], [0, 1], [-1, 2], [16384, -16384]]  # the extremes too
    path = tmp_path / f"pcm16{suffix}"
    sf.write(path, pcm, 16000, subtype="PCM_16")
    expected, _ = sf.read(path, dtype="float32", always_2d=True)
    with sf.SoundFile(path) as audio_file:
        np.testing.assert_array_equal(_read_float32(audio_file, 4000), expected)
