"""A tree of files written by real encoders (tests/encoders.py), damaged ones and files that are
not audio among them, through the workflow: every file is a sample, a failure with its
documented reason, or skipped, and the statistics count them so (the decoder alone:
unit/extraction/test_real_encoders.py)."""

from __future__ import annotations

import csv
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from encoders import (
    LIBSNDFILE_CONTAINERS,
    DamagedFile,
    EncodedFile,
    damaged_files,
    expected_outcome,
    needs_encoders,
    real_encoder_files,
)
from helpers import snakemake_command

from fraudprep.extraction.audio_io import FFMPEG

pytestmark = needs_encoders()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[EncodedFile], list[DamagedFile]]:
    directory = tmp_path_factory.mktemp("real-encoders")
    valid = real_encoder_files(directory / "valid")
    return valid, damaged_files(valid, directory / "damaged")


@pytest.fixture(scope="module")
def workflow_run(corpus, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """snakemake --cores 2 over a FoR tree of every valid file (in each split), the damaged
    ones, and files that are not audio at all."""
    valid, damaged = corpus
    workdir = tmp_path_factory.mktemp("real-encoders-run")
    tree = workdir / "corpus"
    for index, encoded in enumerate(valid):
        for split in ("training", "validation", "testing"):
            label = ("real", "fake")[index % 2]
            target = tree / split / label / encoded.path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(encoded.path, target)
    for broken in damaged:
        target = tree / "testing" / "fake" / "damaged" / broken.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(broken.path, target)
    (tree / "training" / "real" / "transcripts.txt").write_text("please confirm the transfer\n")
    (tree / "testing" / "fake" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not audio")
    run = subprocess.run(
        snakemake_command(
            workdir, "--cores", "2", "--config", "input_dir=corpus", "models=[unetr]",
            "max_failure_fraction=1.0", "report_figures=False",
        ),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return workdir / "data" / "preprocessed", run


def test_workflow_accounts_for_every_file_of_the_tree(corpus, workflow_run):
    valid, damaged = corpus
    out, run = workflow_run
    with open(out / "unetr" / "failures.csv", newline="", encoding="utf-8") as handle:
        failed = {Path(row["path"]).name: row["reason"] for row in csv.DictReader(handle)}
    expected_failures = {
        broken.path.name for broken in damaged if expected_outcome(broken) != "sample"
    }
    assert set(failed) == expected_failures  # no valid file among them
    with open(out / "skipped.csv", newline="", encoding="utf-8") as handle:
        skipped = list(csv.DictReader(handle))
    assert [(Path(r["path"]).name, r["split"], r["reason"]) for r in skipped] == [
        ("transcripts.txt", "training", "not an audio extension"),
        ("cover.jpg", "testing", "not an audio extension"),
    ]
    assert "2 file(s) under the input's class folders skipped" in run.stdout

    with open(out / "unetr" / "dataset_stats.pkl", "rb") as handle:
        stats = pickle.load(handle)
    samples = 3 * len(valid) + len(damaged) - len(expected_failures)
    assert stats["total_files"] == samples + len(expected_failures)
    assert stats["total_samples"] == samples
    ffmpeg_valid = sum(f.container not in LIBSNDFILE_CONTAINERS for f in valid)
    assert stats["decoders"][FFMPEG] >= 3 * ffmpeg_valid
    assert sum(stats["decoders"].values()) == samples
    assert stats["formats"]["mp3/mp3"] >= 3 * sum(f.container == "mp3" for f in valid)
