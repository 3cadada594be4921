"""Augmented copies through the workflow's steps as library calls: their own batches, metadata
that names each copy's source and drawn parameters, clean outputs untouched, draws independent
of chunking (the workflow run with a config block: workflow/test_augmentation_run.py)."""

from __future__ import annotations

import csv
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import bar_heights, run_steps

import fraudprep
from fraudprep.extraction.augment import AugmentationPlan
from fraudprep.inputs.datasets import DatasetConfig

POOL = [
    {"kind": "telephone"},
    {"kind": "rawboost", "algorithm": 3},
    {"kind": "codec", "codec": "mp3", "bitrate_kbps": [32, 64]},
]
MODEL = "lfcc"


def plan(**changes) -> AugmentationPlan:
    block = {"copies": 2, "splits": ["training"], "seed": 0, "pool": POOL, **changes}
    result = AugmentationPlan.from_config(block)
    assert result is not None
    return result


def run(tree: Path, out: Path, augmentation: AugmentationPlan | None, chunk_size: int = 4):
    return run_steps(out, MODEL, DatasetConfig(input_dir=str(tree)), plan=augmentation,
                     chunk_size=chunk_size, min_duration=0.1)  # fmt: skip


def digests(model_dir: Path, pattern: str) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(model_dir.glob(pattern))
    }


@pytest.fixture
def runs(for_tree: Path, tmp_path: Path) -> dict[str, Path]:
    outs = {"clean": tmp_path / "clean", "augmented": tmp_path / "augmented"}
    run(for_tree, outs["clean"], None)
    run(for_tree, outs["augmented"], plan())
    return outs


def test_copies_get_batches_of_their_own_for_the_chosen_splits_only(runs):
    model_dir = runs["augmented"] / MODEL
    metadata = pickle.loads((model_dir / "batch_metadata.pkl").read_bytes())
    assert list(metadata) == ["training", "validation", "testing", "training_aug"]
    clean = sum(entry["num_samples"] for entry in metadata["training"])
    copies = [drawn for entry in metadata["training_aug"] for drawn in entry["augmentations"]]
    assert len(copies) == 2 * clean
    assert [c["copy"] for c in copies[:2]] == [0, 1]
    assert {c["kind"] for c in copies} <= {"telephone", "rawboost", "codec"}
    sources = [p for entry in metadata["training_aug"] for p in entry["source_files"]]
    assert sorted(set(sources)) == sorted(
        {p for entry in metadata["training"] for p in entry["source_files"]}
    )
    assert all(Path(e["file_path"]).name.startswith("training_aug_batch_")
               for e in metadata["training_aug"])  # fmt: skip
    summary = pickle.loads((model_dir / "dataset_stats.pkl").read_bytes())
    assert summary["augmented"]["training_aug"]["samples"] == 2 * clean
    assert summary["total_batches"] == sum(summary["batches"].values())  # clean ones only


def test_clean_outputs_and_statistics_are_those_of_a_run_without_copies(runs):
    clean_dir, augmented_dir = runs["clean"] / MODEL, runs["augmented"] / MODEL
    assert digests(clean_dir, "*_batch_*.pkl") == {
        name: digest
        for name, digest in digests(augmented_dir, "*_batch_*.pkl").items()
        if "_aug_" not in name
    }
    clean = pickle.loads((clean_dir / "dataset_stats.pkl").read_bytes())
    augmented = pickle.loads((augmented_dir / "dataset_stats.pkl").read_bytes())
    np.testing.assert_array_equal(
        clean["normalization"]["band_mean"], augmented["normalization"]["band_mean"]
    )
    assert clean["samples"] == augmented["samples"] and "augmented" not in clean
    assert (clean_dir / "properties.csv").read_bytes() == (
        augmented_dir / "properties.csv"
    ).read_bytes()


def test_the_loader_includes_copies_only_when_asked(runs):
    out = runs["augmented"]
    clean_x, _ = fraudprep.load(out, MODEL, "training")
    all_x, _ = fraudprep.load(out, MODEL, "training", augmented=True)
    only_x, _ = fraudprep.load(out, MODEL, "training", augmented="only")
    assert len(all_x) == len(clean_x) + len(only_x) == 3 * len(clean_x)
    np.testing.assert_array_equal(all_x[: len(clean_x)], clean_x)
    # Issue 26: no copies of a split is said, not an empty array that looks like data.
    with pytest.raises(ValueError, match="no augmented copies of validation"):
        fraudprep.load(out, MODEL, "validation", augmented="only")
    info = next(fraudprep.iter_batches(out, MODEL, "training", augmented="only", with_info=True))
    assert info[2]["augmentation"][0]["copy"] == 0


def test_copies_do_not_depend_on_chunking_and_follow_the_seed(for_tree: Path, tmp_path: Path):
    def copies(name: str, chunk_size: int, seed: int) -> np.ndarray:
        out = tmp_path / name
        run(for_tree, out, plan(seed=seed), chunk_size=chunk_size)
        return fraudprep.load(out, MODEL, "training", augmented="only")[0]

    first = copies("a", 4, 0)
    np.testing.assert_array_equal(first, copies("b", 2, 0))
    assert not np.array_equal(first, copies("c", 4, 1))


def test_the_report_and_the_run_summary_count_the_copies(runs, tmp_path: Path, drawn_figures):
    from fraudprep.outputs.summary import run_summary_lines
    from fraudprep.report.stats_figures import SPLITS, plot_counts

    model_dir = runs["augmented"] / MODEL
    stats = pickle.loads((model_dir / "dataset_stats.pkl").read_bytes())
    plot_counts(stats, tmp_path / "counts.png")
    [figure] = drawn_figures
    copies = len(fraudprep.load(runs["augmented"], MODEL, "training", augmented="only")[1])
    assert copies == stats["augmented"]["training_aug"]["samples"] == 2 * 6  # 2 of each file
    # The copies are said under the chart, not mixed into the bars of the splits' samples.
    counts = figure.axes[0]
    assert (
        counts.get_xlabel()
        == f"augmented copies, in batches of their own: {copies} in training_aug"
    )
    samples = [[stats["samples"][split][cls] for split in SPLITS] for cls in ("real", "fake")]
    assert bar_heights(counts) == [*samples[0], *samples[1]] == [3, 1, 1, 3, 1, 2]
    lines = "\n".join(run_summary_lines(runs["augmented"], [MODEL]))
    assert f"training_aug: {copies} augmented copies in" in lines


def test_copies_that_cannot_be_made_are_listed_and_warned_about(for_tree: Path, tmp_path: Path):
    """A noise folder whose only file is broken passes the config check (it is read when a
    copy needs it): every copy fails, each is listed with its reason, the run says how many,
    and the files themselves are samples as in a run without copies."""
    noises = tmp_path / "noises"
    noises.mkdir()
    (noises / "hum.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    broken = plan(copies=1, pool=[{"kind": "noise", "dir": str(noises), "snr_db": [5, 20]}])
    stats = run(for_tree, tmp_path / "out", broken)
    model_dir = tmp_path / "out" / MODEL
    with open(model_dir / "copy_failures.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    training = stats["samples"]["training"]
    assert len(rows) == training["real"] + training["fake"] > 0
    assert {row["split"] for row in rows} == {"training_aug"}
    assert {row["copy"] for row in rows} == {"0"}
    assert all("hum.wav" in row["reason"] for row in rows), rows[0]["reason"]
    assert stats["augmented"]["training_aug"] == {
        "samples": 0, "batches": 0, "kinds": {}, "failed": len(rows)
    }  # fmt: skip
    assert f"{len(rows)} augmented copies of training_aug could not be made" in " ".join(
        stats["warnings"]
    )
    assert stats["total_failures"] == 0  # the files themselves are fine
    run(for_tree, tmp_path / "out", None)
    assert not (model_dir / "copy_failures.csv").exists()  # nothing left to mislead
