"""Shortcut check: per-file properties, their AUC per split, and the end-of-run warning."""

from __future__ import annotations

import itertools
import pickle
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from helpers import REPO, run_steps, speechlike

from fraudprep.extraction.properties import CATEGORICAL, PROPERTIES, bandwidth, signal_levels
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.outputs.shortcuts import fit_logistic, roc_auc, shortcut_table

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
RATE = 16000
SPLITS = ("training", "validation", "testing")


def run_model(tree: Path, out: Path, model: str = "lfcc") -> dict:
    """Extract and aggregate ``tree`` for one model, as the workflow does; the statistics."""
    dataset = DatasetConfig(input_dir=str(tree))
    return run_steps(out, model, dataset, batch_size=4, chunk_size=7, hash_files=False)


def write(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, RATE, subtype="PCM_16")


def separations(stats: dict, name: str) -> dict[str, float]:
    by_split = stats["shortcuts"]["properties"][name]["by_split"]
    return {split: by_split[split]["separation"] for split in SPLITS}


# ------------------------------------------------------------------ the measure itself


def test_auc_counts_every_real_fake_pair_with_ties_as_half():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 5, 40).astype(float)  # many ties
    is_fake = rng.random(40) < 0.4
    pairs = [
        1.0 if f > r else 0.5 if f == r else 0.0
        for f, r in itertools.product(values[is_fake], values[~is_fake])
    ]
    assert roc_auc(values, is_fake) == pytest.approx(np.mean(pairs))
    assert roc_auc(values, np.zeros(40, bool)) is None  # one class: no AUC


def test_the_combined_model_finds_a_separation_no_single_property_shows():
    # Fakes where two properties agree in sign (XOR-free, but each alone is weak).
    rng = np.random.default_rng(2)
    features = rng.standard_normal((400, 2))
    is_fake = features.sum(axis=1) > 0
    weights = fit_logistic(features.astype(np.float32), is_fake)
    combined = roc_auc(features @ weights[1:], is_fake)
    assert combined > 0.97
    assert max(roc_auc(features[:, k], is_fake) for k in range(2)) < 0.9


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


# ------------------------------------------------------------------ through the workflow steps


def test_real_files_with_leading_silence_are_flagged(tmp_path: Path):
    """Real files start with 1 s of silence, fakes start at once (ASVspoof 2019 LA's kind of
    difference): leading silence separates them completely, and the run says so."""
    tree = tmp_path / "tree"
    for split, index in itertools.product(SPLITS, range(6)):
        voice = speechlike(1.5, RATE, seed=index)
        write(tree / split / "real" / f"r{index}.wav", np.concatenate([np.zeros(RATE), voice]))
        write(tree / split / "fake" / f"f{index}.wav", speechlike(1.5, RATE, seed=50 + index))
    stats = run_model(tree, tmp_path / "out")
    leading = stats["shortcuts"]["properties"]["leading_silence_ms"]["by_split"]
    assert all(leading[split]["auc"] == 0.0 for split in SPLITS)  # every real one is longer
    assert leading["training"]["real"] == pytest.approx(1000, abs=40)
    assert leading["training"]["fake"] < 40
    messages = [item["message"] for item in stats["shortcuts"]["flagged"]]
    assert any(m.startswith("real and fake differ by leading silence (AUC 1.00") for m in messages)
    assert any("leading silence" in warning for warning in stats["warnings"])
    table = pd.read_csv(tmp_path / "out" / "lfcc" / "properties.csv")
    assert len(table) == stats["total_samples"] == 36
    # Rows in the order of the batches: the metadata's source files, split by split.
    metadata = pickle.loads((tmp_path / "out/lfcc/batch_metadata.pkl").read_bytes())
    sources = [p for split in SPLITS for entry in metadata[split] for p in entry["source_files"]]
    assert table["path"].tolist() == sources


def test_a_tree_balanced_on_every_property_raises_no_warning(tmp_path: Path):
    """Each fake is its real twin played backwards: the same levels, rate, codec, length and
    spectrum, so nothing but the order of the samples tells them apart."""
    tree = tmp_path / "tree"
    for split, index in itertools.product(SPLITS, range(6)):
        voice = speechlike(1.0 + 0.25 * index, RATE, seed=index)
        write(tree / split / "real" / f"r{index}.wav", voice)
        write(tree / split / "fake" / f"f{index}.wav", voice[::-1].copy())
    stats = run_model(tree, tmp_path / "out")
    assert stats["shortcuts"]["flagged"] == []
    assert not any("differ by" in warning for warning in stats["warnings"])
    for name in ("duration_s", "peak_dbfs", "rms_dbfs", "bandwidth_hz", "format"):
        assert all(abs(s - 0.5) < 0.2 for s in separations(stats, name).values()), name


def test_the_table_alone_is_deterministic(tmp_path: Path):
    table = tmp_path / "properties.csv"
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"path": [f"f{i}" for i in range(60)], "split": np.repeat(SPLITS, 20),
         "label": np.tile([0, 1], 30)}
    )  # fmt: skip

    for name in PROPERTIES:
        frame[name] = "wav/pcm_16" if name in CATEGORICAL else rng.random(60)
    frame.to_csv(table, index=False)
    first, second = shortcut_table(table), shortcut_table(table)
    assert first == second
    assert set(first["properties"]) == set(PROPERTIES)


def synthetic_table(path: Path, rows: dict[str, int], seed: int = 5) -> pd.DataFrame:
    """A properties table whose fakes have rms + peak above 0, no property alone telling."""
    rng = np.random.default_rng(seed)
    splits = np.concatenate([[split] * count for split, count in rows.items()])
    frame = pd.DataFrame({"path": [f"f{i}" for i in range(len(splits))], "split": splits})
    for name in PROPERTIES:
        frame[name] = "wav/pcm_16" if name in CATEGORICAL else rng.standard_normal(len(frame))
    frame["label"] = (frame["rms_dbfs"] + frame["peak_dbfs"] > 0).astype(int)
    frame.to_csv(path, index=False)
    return frame


def test_properties_together_are_flagged_on_held_out_splits(tmp_path: Path):
    synthetic_table(tmp_path / "p.csv", {"training": 600, "validation": 200, "testing": 200})
    table = shortcut_table(tmp_path / "p.csv")
    combined = table["combined"]["by_split"]
    assert combined["validation"]["separation"] > 0.95 and combined["testing"]["separation"] > 0.95
    assert table["properties"]["rms_dbfs"]["by_split"]["validation"]["separation"] < 0.85
    assert table["flagged"][0]["property"] == "all properties together"


def test_too_few_training_files_fit_no_combined_model(tmp_path: Path):
    synthetic_table(tmp_path / "p.csv", {"training": 60, "validation": 60, "testing": 60})
    combined = shortcut_table(tmp_path / "p.csv")["combined"]
    assert "not fit" in combined["skipped"]
    assert all(entry["auc"] is None for entry in combined["by_split"].values())


# ------------------------------------------------------------------ options that remove one


def profile_with(**options):
    from fraudprep.run.settings import FeatureProfile

    return FeatureProfile(kind="raw", sample_rate=RATE, duration=3.0, trim_top_db=None,
                          **options)  # fmt: skip


def test_band_limiting_leaves_nothing_above_its_cutoff():
    from fraudprep.extraction.features import make_extractor

    noise = np.random.default_rng(6).standard_normal(3 * RATE).astype(np.float32) * 0.1
    limited = make_extractor(profile_with(lowpass_hz=3400))(noise)
    assert bandwidth(limited, RATE) <= 3450
    assert bandwidth(make_extractor(profile_with())(noise), RATE) > 7500


def test_loudness_normalisation_sets_the_rms_level_without_clipping():
    from fraudprep.extraction.features import make_extractor

    quiet = 0.01 * speechlike(3.0, RATE, seed=7)
    louder = make_extractor(profile_with(loudness_dbfs=-26.0))(quiet)
    assert signal_levels(louder).rms_dbfs == pytest.approx(-26.0, abs=0.05)
    spiky = quiet.copy()
    spiky[100] = 0.9  # the peak limits the gain: no sample past full scale
    assert np.abs(make_extractor(profile_with(loudness_dbfs=-3.0))(spiky)).max() <= 1.0


def test_unset_options_leave_the_written_settings_as_they_were():
    values = profile_with().as_dict()
    assert "lowpass_hz" not in values and "loudness_dbfs" not in values
    assert profile_with(lowpass_hz=4000.0).as_dict()["lowpass_hz"] == 4000.0
