"""The worked example trains, scores and evaluates on real workflow outputs (PyTorch needed:
``make test`` installs the CPU build; the library itself never imports torch)."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, snakemake_command, write_audio

# As for the encoders: locally a missing torch only skips, in CI it must fail.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None and not os.environ.get("CI"),
    reason="torch is not installed: make test installs it",
)


# shards: the training split streamed by a DataLoader with two worker processes.
@pytest.mark.parametrize("storage", [(), ("format=shards", "dtype=uint8", "shard_samples=4")])
def test_example_trains_scores_and_prints_eer(tmp_path: Path, storage: tuple[str, ...]):
    for split, count in (("training", 12), ("validation", 3), ("testing", 5)):
        for label in ("real", "fake"):
            for i in range(count):
                seed = {"training": 0, "validation": 100, "testing": 200}[split] + i
                seed += 1000 if label == "fake" else 0
                write_audio(tmp_path / "corpus" / split / label / f"{label}{i}.wav",
                            seconds=1.0 + 0.1 * i, rate=16000, seed=seed)  # fmt: skip
    # A listing that names each fake's attack, as ASVspoof protocols do.
    listing = ["path,split,label,attack"]
    for path in sorted((tmp_path / "corpus").rglob("*.wav")):
        label = path.parent.name
        attack = "-" if label == "real" else f"A0{int(path.stem[4:]) % 2 + 1}"
        listing.append(f"{path.relative_to(tmp_path)},{path.parent.parent.name},{label},{attack}")
    (tmp_path / "protocol.csv").write_text("\n".join(listing) + "\n")
    run = subprocess.run(
        snakemake_command(tmp_path, "--cores", "2", "--config", "listing=protocol.csv",
                          "models=[resnet_low_memory]", "report_figures=false", *storage),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    scores = tmp_path / "scores.csv"
    example = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_detector.py"), "--output-dir",
         str(tmp_path / "data" / "preprocessed"), "--scores", str(scores), "--epochs", "2",
         "--workers", "2"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert example.returncode == 0, example.stderr[-3000:]
    assert "epoch 2/2: training loss" in example.stdout
    assert "10 scored files" in example.stdout and "EER %" in example.stdout
    assert "attack A01" in example.stdout and "attack A02" in example.stdout
    with open(scores, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and all(
        Path(row["path"]).parent.parent.name == "testing" for row in rows
    )
