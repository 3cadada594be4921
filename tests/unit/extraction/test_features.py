"""The numpy features against librosa, the reference the seed's pipeline used: the mel image,
LFCC and raw front-ends of extraction/features.py."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.fft
import yaml
from helpers import REPO, speechlike

from fraudprep.extraction.features import (
    LfccExtractor,
    LinearResize,
    MelImageExtractor,
    RawExtractor,
    deltas,
    distinct_values,
    fix_length,
    linear_filterbank,
    make_extractor,
    mel_filterbank,
    power_spectrogram,
    trim_silence,
)
from fraudprep.extraction.properties import bandwidth, signal_levels
from fraudprep.run.settings import FeatureProfile, profile_from_mapping

SHIPPED_PROFILES = {
    name: values
    for name, values in yaml.safe_load((REPO / "config.yaml").read_text())[
        "feature_profiles"
    ].items()
    if values.get("kind", "mel_image") == "mel_image"
}
RATE = 16000
DB_TOLERANCE = 0.01  # dB, on the mel-dB matrix before scaling to [0, 1]


@pytest.mark.parametrize(
    ("rate", "n_fft", "n_mels"), [(16000, 2048, 128), (16000, 2048, 64), (22050, 1024, 80)]
)
def test_filterbank_matches_librosa(rate, n_fft, n_mels):
    ours = mel_filterbank(rate, n_fft, n_mels)
    reference = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-8)


def with_silence(signal: np.ndarray, rate: int, lead: float, tail: float) -> np.ndarray:
    pad = np.zeros(int(lead * rate), np.float32), np.zeros(int(tail * rate), np.float32)
    return np.concatenate([pad[0], signal, pad[1]])


@pytest.mark.parametrize("seed", range(4))
def test_trim_matches_librosa(seed):
    signal = with_silence(speechlike(1.0 + seed, 16000, seed), 16000, 0.3 * seed, 0.7)
    _, (start, stop) = librosa.effects.trim(signal, top_db=20)
    np.testing.assert_array_equal(trim_silence(signal, 20), signal[start:stop])


def librosa_mel_db(extractor: MelImageExtractor, signal: np.ndarray) -> np.ndarray:
    """The seed's path: librosa trim, fix_length, melspectrogram, power_to_db."""
    p = extractor.profile
    trimmed, _ = librosa.effects.trim(signal, top_db=p.trim_top_db)
    clip = librosa.util.fix_length(trimmed, size=p.num_samples)
    power = librosa.feature.melspectrogram(
        y=clip, sr=p.sample_rate, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels
    )
    return librosa.power_to_db(power, ref=np.max, top_db=p.top_db)


@pytest.mark.parametrize("name", sorted(SHIPPED_PROFILES))
@pytest.mark.parametrize(("seconds", "lead"), [(1.3, 0.0), (4.0, 0.5), (12.0, 0.2)])
def test_mel_db_matches_librosa(name, seconds, lead):
    extractor = MelImageExtractor(profile_from_mapping(name, SHIPPED_PROFILES[name]))
    signal = with_silence(speechlike(seconds, 16000, seed=7), 16000, lead, 0.4)
    ours_db = extractor.mel_unit(signal) * extractor.profile.top_db - extractor.profile.top_db
    np.testing.assert_allclose(ours_db, librosa_mel_db(extractor, signal), atol=DB_TOLERANCE)


@pytest.mark.parametrize("name", sorted(SHIPPED_PROFILES))
def test_shipped_profiles_give_their_shape_in_float32_and_unit_range(name):
    profile = profile_from_mapping(name, SHIPPED_PROFILES[name])
    features = MelImageExtractor(profile)(speechlike(2.0, profile.sample_rate))
    expected = {
        "resnet": (224, 224, 3),
        "mobilenet": (224, 224, 3),
        "unetr": (128, 256),
        "resnet_low_memory": (128, 128, 3),
    }[name]
    assert features.shape == expected == profile.output_shape
    assert features.dtype == np.float32
    assert features.min() >= 0.0 and features.max() <= 1.0 and features.max() > 0.9
    if features.ndim == 3:  # R = G = B
        assert np.array_equal(features[..., 0], features[..., 2])


def test_low_memory_profile_really_uses_64_mels_and_5_seconds():
    profile = profile_from_mapping("resnet_low_memory", SHIPPED_PROFILES["resnet_low_memory"])
    extractor = MelImageExtractor(profile)
    assert extractor.filterbank.shape[0] == 64
    assert extractor.mel_unit(speechlike(8.0, 16000)).shape == (64, 1 + 5 * 16000 // 512)


@pytest.mark.parametrize(
    "signal",
    [np.zeros(16000, np.float32), np.full(16000, 0.5, np.float32), np.zeros(0, np.float32)],
)
def test_silent_constant_and_empty_clips_are_finite(signal):
    features = MelImageExtractor(FeatureProfile(height=32, width=32, n_mels=32))(signal)
    assert np.isfinite(features).all()
    if not signal.any():
        assert not features.any()  # silence gives zeros, not NaN from a divide by zero


def test_resize_is_a_convex_two_tap_interpolation():
    for size_in, size_out in [(313, 224), (64, 128), (128, 128)]:
        matrix = LinearResize.between(size_in, size_out).matrix(size_in)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-6)
        assert (matrix >= 0).all() and ((matrix > 0).sum(axis=1) <= 2).all()
    ramp = np.arange(10, dtype=np.float32)
    expected = np.clip((np.arange(20) + 0.5) / 2 - 0.5, 0, 9)
    resized = LinearResize.between(10, 20).columns(ramp[None, :])[0]
    np.testing.assert_allclose(resized, expected, rtol=1e-6)


def test_gather_resize_equals_the_matrix_product():
    image = np.random.default_rng(0).random((128, 313), dtype=np.float32)
    rows, columns = LinearResize.between(128, 224), LinearResize.between(313, 224)
    dense = rows.matrix(128) @ image @ columns.matrix(313).T
    np.testing.assert_allclose(columns.columns(rows.rows(image)), dense, atol=1e-5)


@pytest.mark.parametrize("seconds", [0.05, 1.0, 3.3, 9.99, 12.0])
def test_skipping_padding_frames_changes_nothing(seconds):
    extractor = MelImageExtractor(FeatureProfile(height=64, width=64, n_mels=64))
    signal = speechlike(seconds, 16000, seed=2)
    clip = extractor.clip(signal)
    p = extractor.profile
    full = power_spectrogram(clip, p.n_fft, p.hop_length, extractor.window)
    assert full.shape[0] == p.num_frames
    np.testing.assert_allclose(
        extractor.band_energies(signal, extractor.filterbank),
        extractor.filterbank @ full.T,
        rtol=1e-5,
        atol=1e-9,
    )


def test_distinct_values_undo_broadcasting_only():
    plane = np.arange(12, dtype=np.float32).reshape(3, 4)
    rgb = np.broadcast_to(plane[:, :, None], (3, 4, 3))
    np.testing.assert_array_equal(distinct_values(rgb), plane)
    np.testing.assert_array_equal(distinct_values(plane), plane)
    stacked = np.repeat(plane[:, :, None], 3, axis=2)  # real copies are all checked
    assert distinct_values(stacked).shape == (3, 4, 3)


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


def profile_with(**options):
    return FeatureProfile(kind="raw", sample_rate=RATE, duration=3.0, trim_top_db=None,
                          **options)  # fmt: skip


def test_band_limiting_leaves_nothing_above_its_cutoff():
    noise = np.random.default_rng(6).standard_normal(3 * RATE).astype(np.float32) * 0.1
    limited = make_extractor(profile_with(lowpass_hz=3400))(noise)
    assert bandwidth(limited, RATE) <= 3450
    assert bandwidth(make_extractor(profile_with())(noise), RATE) > 7500


def test_loudness_normalisation_sets_the_rms_level_without_clipping():
    quiet = 0.01 * speechlike(3.0, RATE, seed=7)
    louder = make_extractor(profile_with(loudness_dbfs=-26.0))(quiet)
    assert signal_levels(louder).rms_dbfs == pytest.approx(-26.0, abs=0.05)
    spiky = quiet.copy()
    spiky[100] = 0.9  # the peak limits the gain: no sample past full scale
    assert np.abs(make_extractor(profile_with(loudness_dbfs=-3.0))(spiky)).max() <= 1.0
