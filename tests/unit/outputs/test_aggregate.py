"""outputs/aggregate.py as a library call: the chunks' batches numbered globally, the dataset
statistics, stale batches removed, the failure limit."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import TREE_FILES, build_tree, run_steps
from helpers import run_tree_steps as run_pipeline

from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest import natural_key
from fraudprep.outputs.aggregate import TooManyFailures


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


def test_aggregation_refuses_a_chunk_whose_batch_lost_its_data(for_tree: Path, tmp_path: Path):
    """Batch files are not synced one by one: a power cut may publish a chunk whose batch
    lost its data. Aggregation sees it by size, removes the chunk and says to rerun."""
    from fraudprep.inputs.chunks import read_chunks
    from fraudprep.outputs.aggregate import DamagedChunkError, aggregate_model

    out = tmp_path / "out"
    run_steps(out, "unetr", DatasetConfig(input_dir=str(for_tree)))
    chunk_dirs = sorted((out / "unetr" / "chunks").iterdir())
    lost = next(chunk_dirs[1].glob("batch_*.pkl"))
    lost.write_bytes(b"")  # what a power cut leaves of a file whose data was not on disk
    model_dir = out / "unetr"
    with pytest.raises(DamagedChunkError, match=f"{lost.name} has 0 bytes where .* rerun"):
        aggregate_model(read_chunks(out / "chunks.csv"), chunk_dirs, model_dir,
                        model_dir / "batch_metadata.pkl", model_dir / "dataset_stats.pkl",
                        model_dir / "failures.csv")  # fmt: skip
    assert not chunk_dirs[1].exists()
