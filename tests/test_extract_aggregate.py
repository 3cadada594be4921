"""Extraction and aggregation as library calls, without Snakemake."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO, TREE_FILES, build_tree, run_steps

from fraudprep.base.atomic import partial_dir_for
from fraudprep.base.layout import read_chunk_metadata
from fraudprep.extraction.extract import ReadLimits, extract_chunk, extract_chunk_models
from fraudprep.inputs.chunks import write_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest import natural_key
from fraudprep.inputs.manifest_build import build_manifest
from fraudprep.outputs.aggregate import TooManyFailures
from fraudprep.run.settings import resolve_model_settings

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def run_pipeline(
    tree: Path,
    out: Path,
    model: str = "unetr",
    chunk_size: int = 2,
    batch_size: int = 2,
    max_failure_fraction: float = 0.5,
) -> dict:
    return run_steps(
        out, model, DatasetConfig(input_dir=str(tree)), batch_size=batch_size,
        chunk_size=chunk_size, min_duration=0.1, max_failure_fraction=max_failure_fraction,
    )  # fmt: skip


@pytest.fixture
def tree_with_bad_files(for_tree: Path) -> Path:
    (for_tree / "training" / "real" / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    (for_tree / "testing" / "fake" / "empty.flac").write_bytes(b"")
    return for_tree


def seed_snippet_load(metadata_path: Path, split: str) -> tuple[list, list]:
    """The seed's loading snippet, as users run it."""
    with open(metadata_path, "rb") as f:
        metadata = pickle.load(f)
    data, labels = [], []
    for batch_info in metadata[split]:
        with open(batch_info["file_path"], "rb") as f:
            batch = pickle.load(f)
            data.append(batch["data"])
            labels.append(batch["labels"])
    return data, labels


def test_every_file_is_a_sample_or_a_failure(tree_with_bad_files: Path, tmp_path: Path):
    out = tmp_path / "out"
    stats = run_pipeline(tree_with_bad_files, out)
    assert stats["total_files"] == 13
    assert stats["total_samples"] == 11 and stats["total_failures"] == 2
    failures = (out / "unetr" / "failures.csv").read_text().splitlines()
    assert failures[0] == "path,split,label,reason"
    assert any("broken.wav" in line and "corrupt audio header" in line for line in failures)
    assert any("empty.flac" in line and "empty file (0 bytes)" in line for line in failures)
    assert stats["samples"] == {
        "training": {"real": 3, "fake": 3},
        "validation": {"real": 1, "fake": 1},
        "testing": {"real": 1, "fake": 2},
    }
    assert stats["failures"]["training"]["real"] == 1


def test_seed_snippet_loads_batches_numbered_globally(for_tree: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    run_pipeline(for_tree, out, chunk_size=4, batch_size=2)
    monkeypatch.chdir(tmp_path)  # file_path values are as the workflow wrote them
    metadata = pickle.loads((out / "unetr" / "batch_metadata.pkl").read_bytes())
    assert list(metadata) == ["training", "validation", "testing"]
    # 6 training files in chunks of 3 and 3 -> batches of 2+1 and 2+1, numbered 0..3.
    assert [b["file_path"] for b in metadata["training"]] == [
        str(out / "unetr" / f"training_batch_{k}.pkl") for k in range(4)
    ]
    assert [b["num_samples"] for b in metadata["training"]] == [2, 1, 2, 1]
    data, labels = seed_snippet_load(out / "unetr" / "batch_metadata.pkl", "training")
    stacked = np.concatenate(data)
    assert stacked.shape == (6, 128, 256) and stacked.dtype == np.float32
    # Manifest order: split, then natural order of the path (training/fake before training/real).
    assert np.concatenate(labels).tolist() == [1, 1, 1, 0, 0, 0]
    training = [(label, name) for split, label, name, *_ in TREE_FILES if split == "training"]
    expected_names = [name for _, name in sorted(training, key=lambda t: (t[0], natural_key(t[1])))]
    sources = [Path(s).name for b in metadata["training"] for s in b["source_files"]]
    assert sources == expected_names


def test_stats_hold_counts_rates_and_training_normalisation(for_tree: Path, tmp_path: Path):
    stats = run_pipeline(for_tree, tmp_path / "out", model="resnet_low_memory")
    assert stats["original_sample_rates"] == {8000: 1, 16000: 5, 22050: 2, 44100: 2, 48000: 1}
    assert stats["original_channels"] == {1: 9, 2: 2}
    assert stats["feature_shape"] == (128, 128, 3)
    norm = stats["normalization"]
    assert norm["num_samples"] == 6
    assert norm["band_mean"].shape == (128,) and norm["channel_std"].shape == (3,)
    assert np.all(np.isfinite(norm["band_std"]))
    assert stats["duration_seconds"]["min"] == pytest.approx(0.6)
    histogram = stats["duration_histogram"]
    assert sum(histogram.values()) == 11
    assert (histogram["0.5-1"], histogram["1-2"], histogram["2-3"], histogram["3-4"]) == (
        3,
        5,
        2,
        1,
    )
    # chunk_size 2: 8 chunks of 2, 2, 2, 1, 1, 1, 1, 1 rows; a batch ends with its chunk.
    assert stats["batches"] == {"training": 3, "validation": 2, "testing": 3}
    assert stats["output_bytes"] == sum(
        p.stat().st_size for p in (tmp_path / "out" / "resnet_low_memory").glob("*_batch_*.pkl")
    )


def test_outputs_are_byte_identical_across_runs(for_tree: Path, tmp_path: Path):
    run_pipeline(for_tree, tmp_path / "a")
    run_pipeline(for_tree, tmp_path / "b")
    for name in [
        "training_batch_0.pkl",
        "testing_batch_1.pkl",
        "dataset_stats.pkl",
        "failures.csv",
    ]:
        assert (tmp_path / "a/unetr" / name).read_bytes() == (
            tmp_path / "b/unetr" / name
        ).read_bytes()


def test_rerun_with_fewer_files_removes_stale_batches(tmp_path: Path):
    tree = build_tree(tmp_path / "tree")
    run_pipeline(tree, tmp_path / "out", batch_size=1)
    assert (tmp_path / "out/unetr/training_batch_5.pkl").exists()
    for path in (tree / "training" / "fake").iterdir():
        path.unlink()
    run_pipeline(tree, tmp_path / "out", batch_size=1)
    assert not (tmp_path / "out/unetr/training_batch_3.pkl").exists()
    assert (tmp_path / "out/unetr/training_batch_2.pkl").exists()


def test_batch_files_are_hard_links_not_copies(for_tree: Path, tmp_path: Path):
    run_pipeline(for_tree, tmp_path / "out")
    assert os.stat(tmp_path / "out/unetr/training_batch_0.pkl").st_nlink == 2


def test_chunk_output_appears_only_when_complete(for_tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    run_pipeline(for_tree, out)
    chunk_dir = out / "unetr" / "chunks" / "chunk-00000"
    assert read_chunk_metadata(chunk_dir)["chunk"]["chunk"] == "chunk-00000"
    assert not partial_dir_for(chunk_dir).exists()
    assert not list(out.rglob("*.partial*"))


def test_chunk_metadata_lists_every_batch_streamed_from_its_records(for_tree, tmp_path):
    out = tmp_path / "out"
    run_pipeline(for_tree, out, chunk_size=100, batch_size=2)  # one chunk of all 11 files
    chunk_dir = out / "unetr" / "chunks" / "chunk-00000"
    metadata = read_chunk_metadata(chunk_dir)
    assert [b["stem"] for b in metadata["batches"]] == [f"batch_0000{i}" for i in range(6)]
    # 6 training, 2 validation and 3 testing files: a batch ends where its split does.
    assert [b["num_samples"] for b in metadata["batches"]] == [2, 2, 2, 2, 2, 1]
    assert [b["split"] for b in metadata["batches"]] == ["training"] * 3 + ["validation"] + [
        "testing"
    ] * 2
    assert sum(len(b["source_files"]) for b in metadata["batches"]) == 11
    assert metadata["stats"]["samples"] and metadata["feature_shape"] == [128, 256]
    assert sorted(p.name for p in chunk_dir.iterdir() if not p.name.endswith(".pkl")) == [
        "chunk.json",
        "failures.csv",
        "properties.csv",
    ]  # the records file was scratch only


def test_too_many_failures_fails_the_run(tree_with_bad_files: Path, tmp_path: Path):
    with pytest.raises(TooManyFailures, match=r"2 of 13 files failed \(15.4%\)"):
        run_pipeline(tree_with_bad_files, tmp_path / "out", max_failure_fraction=0.1)


def test_stats_report_attacks_leakage_and_one_class_splits(tmp_path: Path):
    tree = build_tree(tmp_path / "tree", [f for f in TREE_FILES if f[:2] != ("validation", "fake")])
    shutil.copy(tree / "training/real/spk1 clip1.wav", tree / "testing/real/leaked.wav")
    stats = run_pipeline(tree, tmp_path / "out")
    assert stats["leakage"] == {"split_leaks": 1, "label_conflicts": 0, "files_involved": 2}
    assert stats["attacks"]["training"] == {"-": {"real": 3, "fake": 3}}
    assert "validation has only real samples (1)" in stats["warnings"]
    assert any("identical audio" in warning for warning in stats["warnings"])


@pytest.mark.parametrize("chunk_size", [3, 5, 100])
def test_chunks_across_splits_keep_every_batch_to_one_split(for_tree: Path, tmp_path, chunk_size):
    """A chunk may hold the end of one split and the start of the next: its batch is written
    where the split changes, so each split's batches hold that split's files, in manifest order,
    whatever the chunk size."""
    run_pipeline(for_tree, tmp_path / "out", chunk_size=chunk_size, batch_size=4)
    metadata = pickle.loads((tmp_path / "out" / "unetr" / "batch_metadata.pkl").read_bytes())
    manifest = (tmp_path / "out" / "manifest.csv").read_text().splitlines()[1:]
    for split in ("training", "validation", "testing"):
        expected = [line.split(",")[0] for line in manifest if line.split(",")[1] == split]
        sources = [s for entry in metadata[split] for s in entry["source_files"]]
        assert sources == expected, split
        assert [entry["batch_index"] for entry in metadata[split]] == list(
            range(len(metadata[split]))
        )


def test_one_job_for_every_model_writes_what_each_models_own_job_writes(
    tree_with_bad_files: Path, tmp_path: Path
):
    """One decode serves every model: the outputs are byte for byte those of one job a model,
    for front-ends of every kind and for files that fail."""
    out = tmp_path / "out"
    build_manifest(out / "manifest.csv", DatasetConfig(input_dir=str(tree_with_bad_files)))
    chunks = write_chunks(out / "manifest.csv", 5, out / "chunks.csv")
    models = [
        resolve_model_settings({**CONFIG, "batch_size": 2}, name)
        for name in ("resnet_low_memory", "unetr", "lfcc", "raw")
    ]
    limits = ReadLimits(min_duration=0.1)
    for chunk in chunks:
        together = [out / "together" / s.model / chunk.id for s in models]
        extract_chunk_models(out / "manifest.csv", chunk, models, together, limits)
        for settings in models:
            alone = out / "alone" / settings.model / chunk.id
            extract_chunk(out / "manifest.csv", chunk, settings, alone, limits)
    together_files = sorted(p.relative_to(out / "together") for p in (out / "together").rglob("*"))
    alone_files = sorted(p.relative_to(out / "alone") for p in (out / "alone").rglob("*"))
    assert together_files == alone_files and len(together_files) > 4 * len(chunks) * 3
    for name in together_files:
        if (out / "alone" / name).is_file():
            assert (out / "together" / name).read_bytes() == (out / "alone" / name).read_bytes()
