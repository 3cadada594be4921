"""outputs/summary.py, the end of ``fraudprep run``: a model is summarised as this run's only
when its final outputs are newer than what they are made from (a run stopped with --until
after remaking the manifest left an earlier run's outputs)."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from fraudprep.outputs.summary import run_summary_lines

STATS = {
    "total_files": 12, "total_samples": 11, "total_failures": 1, "total_batches": 5,
    "batches": {"training": 3, "validation": 1, "testing": 1}, "feature_shape": [128, 256],
    "dtype": "float32", "output_bytes": 1_400_000, "settings": {"storage_format": "pickle"},
}  # fmt: skip


def outputs(out: Path) -> None:
    model = out / "unetr"
    model.mkdir(parents=True)
    (model / "settings.json").write_text(json.dumps({"storage_format": "pickle"}))
    for name in ("manifest.csv", "chunks.csv", "leakage.csv"):
        (out / name).write_text("path\n")
    (model / "dataset_stats.pkl").write_bytes(pickle.dumps(STATS))
    (model / "batch_metadata.pkl").write_bytes(pickle.dumps({}))
    for path in (*out.glob("*.csv"), model / "settings.json"):
        os.utime(path, (1_000_000, 1_000_000))  # older than the model's outputs


def test_current_outputs_are_summarised(tmp_path):
    outputs(tmp_path)
    lines = run_summary_lines(tmp_path, ["unetr"])
    assert lines[1].startswith("  unetr: 12 files: 11 ok, 1 failed")


def test_outputs_older_than_the_manifest_are_an_earlier_runs(tmp_path):
    outputs(tmp_path)
    later = (tmp_path / "unetr" / "batch_metadata.pkl").stat().st_mtime + 5
    os.utime(tmp_path / "manifest.csv", (later, later))  # remade by this run (--until ...)
    lines = run_summary_lines(tmp_path, ["unetr"])
    assert not [line for line in lines if " ok, " in line]
    assert lines[1] == (
        "  unetr: outputs of an earlier run, not current (manifest.csv newer): rerun without "
        "--until (or without the targets) to remake them"
    )
