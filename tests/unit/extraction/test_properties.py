"""The audio properties of extraction/properties.py (levels, bandwidth) against sox and numpy,
and as the extraction writes them to properties.csv."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from helpers import REPO

from fraudprep.extraction.properties import bandwidth, signal_levels
from fraudprep.inputs.datasets import DatasetConfig

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
RATE = 16000


def write(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, RATE, subtype="PCM_16")


def test_levels_and_bandwidth_match_sox_and_numpy(tmp_path: Path):
    t = np.arange(2 * RATE) / RATE
    samples = (0.3 * np.sin(2 * np.pi * 1000 * t) + 0.05).astype(np.float32)
    samples[:1600] = 0.0  # 0.1 s of digital silence
    samples[5000:5010] = 1.0  # a few clipped samples
    write(tmp_path / "tone.wav", samples)
    decoded, _ = sf.read(tmp_path / "tone.wav", dtype="float32")
    levels = signal_levels(decoded)
    sox = subprocess.run(["sox", str(tmp_path / "tone.wav"), "-n", "stats"],
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    reported = {
        m[0].strip(): float(m[1]) for m in re.findall(r"^(.+?)\s+(-?[\d.]+)\s*$", sox, re.M)
    }
    assert levels.dc_offset == pytest.approx(reported["DC offset"], abs=1e-4)
    assert levels.peak_dbfs == pytest.approx(reported["Pk lev dB"], abs=0.01)
    assert levels.rms_dbfs == pytest.approx(reported["RMS lev dB"], abs=0.01)
    assert levels.digital_silence_fraction == pytest.approx(1600 / len(decoded), abs=1e-4)
    assert levels.clipped_fraction == pytest.approx(10 / len(decoded))
    # The tone alone: the silence's edge and the clipped samples spread over every frequency.
    assert 1000 <= bandwidth(np.sin(2 * np.pi * 1000 * t).astype(np.float32), RATE) <= 1100


def band_limited_noise(seconds: float, top_hz: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    spectrum = np.fft.rfft(noise)
    spectrum[np.fft.rfftfreq(len(noise), 1 / RATE) > top_hz] = 0
    limited = np.fft.irfft(spectrum, len(noise))
    return (0.3 * limited / np.abs(limited).max()).astype(np.float32)


def test_bandwidth_of_band_limited_noise_is_its_band():
    limited = band_limited_noise(3, 3400, seed=3)  # a telephone band's top
    white = band_limited_noise(3, RATE, seed=3)  # nothing cut: up to Nyquist
    assert 3100 <= bandwidth(limited, RATE) <= 3450
    assert bandwidth(white, RATE) > 7500


def test_bandwidth_read_off_the_features_spectrum_is_the_band():
    """The spectral features hand out the spectrum they were computed from, and the bandwidth
    read off it is the one measured apart; the raw waveform has none."""
    from fraudprep.extraction.features import make_extractor
    from fraudprep.extraction.properties import bandwidth_of_spectrum
    from fraudprep.run.settings import resolve_model_settings

    limited, white = band_limited_noise(3, 3400, seed=8), band_limited_noise(3, RATE, seed=9)
    for model in ("resnet", "lfcc"):
        profile = resolve_model_settings(CONFIG, model).profile
        extractor = make_extractor(profile)
        extracted = extractor.extract(limited, with_spectrum=True)
        np.testing.assert_array_equal(extracted.features, extractor(limited))
        # A window of N samples spreads a band's edge over a few bins of rate / N (lfcc's 20 ms
        # window: 50 Hz each) before it falls 60 dB.
        spread = 6 * RATE / (profile.win_length or profile.n_fft)
        assert 3400 <= bandwidth_of_spectrum(extracted.spectrum, RATE) <= 3400 + spread, model
        white_spectrum = extractor.extract(white, with_spectrum=True).spectrum
        assert bandwidth_of_spectrum(white_spectrum, RATE) > 7500, model
        assert extractor.extract(white).spectrum is None  # not asked for
    raw = make_extractor(resolve_model_settings(CONFIG, "raw").profile)
    assert raw.extract(white, with_spectrum=True).spectrum is None


def test_every_kind_of_profile_measures_the_bandwidth_of_the_audio(tmp_path: Path):
    """Spectral features (trimmed or not), the raw waveform, and a profile that band-limits
    everything to 3.4 kHz all put the files' own bandwidth in properties.csv: the property
    describes the audio before the option that removes the difference."""
    import dataclasses

    from fraudprep.extraction.extract import extract_chunk_models
    from fraudprep.inputs.chunks import write_chunks
    from fraudprep.inputs.manifest_build import build_manifest
    from fraudprep.run.settings import resolve_model_settings

    for index in range(2):
        write(tmp_path / "tree/training/real" / f"r{index}.wav", band_limited_noise(2, RATE, index))
        write(tmp_path / "tree/training/fake" / f"f{index}.wav", band_limited_noise(2, 3400, index))
    manifest = tmp_path / "manifest.csv"
    build_manifest(manifest, DatasetConfig(input_dir=str(tmp_path / "tree")), hash_files=False)
    [chunk] = write_chunks(manifest, 10, tmp_path / "chunks.csv")
    models = [resolve_model_settings(CONFIG, model) for model in ("resnet", "lfcc", "raw")]
    band_limited = dataclasses.replace(
        models[0], model="resnet_3k4",
        profile=dataclasses.replace(models[0].profile, lowpass_hz=3400.0),
    )  # fmt: skip
    models.append(band_limited)
    for settings in models:
        extract_chunk_models(manifest, chunk, [settings], [tmp_path / "alone" / settings.model])
        table = pd.read_csv(tmp_path / "alone" / settings.model / "properties.csv")
        real, fake = (table.loc[table["label"] == label, "bandwidth_hz"] for label in (0, 1))
        assert (real > 7500).all() and fake.between(3400, 3750).all(), settings.model
    outputs = [tmp_path / "together" / settings.model for settings in models]
    extract_chunk_models(manifest, chunk, models, outputs)
    for output in outputs:  # what is shared is what each would measure alone
        alone = tmp_path / "alone" / output.name
        assert (output / "properties.csv").read_bytes() == (alone / "properties.csv").read_bytes()
