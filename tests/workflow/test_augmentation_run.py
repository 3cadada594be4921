"""The workflow makes augmented copies from an augmentation block given on the command line, and
a second run has nothing to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import build_tree, snakemake_command

import fraudprep

MODEL = "lfcc"


def test_the_workflow_makes_copies_from_a_config_block(tmp_path: Path):
    build_tree(tmp_path / "corpus")
    block = ("{copies: 2, seed: 3, pool: [{kind: codec, codec: mp3, bitrate_kbps: [16, 64]}, "
             "{kind: telephone}, {kind: rawboost, algorithm: 3}]}")  # fmt: skip
    command = snakemake_command(tmp_path, "--cores", "2", "--config", "input_dir=corpus",
                                f"models=[{MODEL}]", f"augmentation={block}")  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "data/preprocessed"
    training = len(fraudprep.load(out, MODEL, "training")[0])
    assert len(fraudprep.load(out, MODEL, "training", augmented="only")[0]) == 2 * training
    assert f"training_aug: {2 * training} augmented copies" in run.stdout + run.stderr
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert "Nothing to be done" in again.stdout + again.stderr
