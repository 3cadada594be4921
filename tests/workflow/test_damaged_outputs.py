"""Issue 26, 6: a published batch file deleted, cut short or changed is never read as if it
were whole: a rerun of the workflow rebuilds what is missing or short (the loader naming it:
unit/outputs/test_loader.py; aggregation refusing it: unit/outputs/test_aggregate.py)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from helpers import snakemake_command, write_audio

import fraudprep


def digests(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.glob("*/*"))
        if path.is_file()
    }


def test_a_rerun_rebuilds_deleted_and_truncated_outputs_to_the_same_bytes(tmp_path: Path):
    for split in ("training", "validation", "testing"):
        for label in ("real", "fake"):
            for i in range(3):
                write_audio(tmp_path / "corpus" / split / label / f"{i}.wav", seconds=1.0 + i / 4,
                            rate=16000, seed=i + 7 * (label == "fake"))  # fmt: skip
    command = snakemake_command(
        tmp_path, "--cores", "2", "--config", "input_dir=corpus", "models=[unetr,lfcc]",
        "report_figures=false", "batch_size=2", "chunk_size=8",
    )  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    out = tmp_path / "data" / "preprocessed"
    before = digests(out)
    (out / "unetr" / "training_batch_0.pkl").unlink()
    short = out / "lfcc" / "validation_batch_1.pkl"
    short.write_bytes(short.read_bytes()[:1000])

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "fraudprep: " + str(Path("data/preprocessed/unetr/training_batch_0.pkl")) in rerun.stderr
    assert "validation_batch_1.pkl has 1,000 bytes where" in rerun.stderr
    assert digests(out) == before
    fraudprep.load(out, "lfcc", "validation")
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert "Nothing to be done" in again.stdout + again.stderr
