"""Outputs that cannot lie: a run never trusts outputs made from another input or other
settings, whether or not Snakemake's records in .snakemake/ are there, and leaves nothing of
an earlier run that loads as if it were current."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, TREE_RUN, run_tree, snakemake_command, write_audio

import fraudprep
from fraudprep.outputs.loader import StaleOutputsError

OUT = "data/preprocessed"


def forget_snakemake_records(workdir: Path) -> None:
    """What a second clone, or a user tidying up, does: Snakemake's records are gone."""
    shutil.rmtree(workdir / ".snakemake")


def test_changed_input_is_seen_without_snakemakes_records(workdir: Path):
    assert "11 files: 11 ok" in run_tree(workdir)
    forget_snakemake_records(workdir)
    for i in range(3):
        write_audio(workdir / "corpus" / "testing" / "real" / f"new {i}.wav", seed=100 + i)
    assert "14 files: 14 ok" in run_tree(workdir)


@pytest.mark.parametrize("hash_files", ["true", "false"])
def test_a_file_rewritten_with_its_size_and_time_is_reprocessed(workdir: Path, hash_files: str):
    """``cat other > file; touch -r old file`` once gave "Nothing to be done": the manifest kept
    the old hash and the loader the old features of what was now another recording. Without
    hashes the rebuilt manifest has the same bytes: its newer time must still redo the rest."""
    run_tree(workdir, f"hash_files={hash_files}")
    victim = workdir / "corpus" / "validation" / "real" / "v_real_1.wav"
    other = write_audio(workdir / "other.wav", seconds=1.0, rate=16000, seed=99)
    before, (x_before, _) = victim.stat(), fraudprep.load(workdir / OUT, "unetr", "validation")
    victim.write_bytes(other.read_bytes())
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert victim.stat().st_size == before.st_size
    assert "Nothing to be done" not in run_tree(workdir, f"hash_files={hash_files}")
    manifest = (workdir / OUT / "manifest.csv").read_text().splitlines()
    row = next(line for line in manifest if "v_real_1.wav" in line)
    if hash_files == "true":
        assert row.endswith(hashlib.sha256(other.read_bytes()).hexdigest())
    x_after, _ = fraudprep.load(workdir / OUT, "unetr", "validation")
    assert not np.array_equal(x_after, x_before)


def second_clone(root: Path) -> Path:
    """This checkout's workflow as a new clone has it: the same content, every file new."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, root / name)
    for name in ("rules", "workflow", "src", "schemas", "profiles", "envs"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / name, root / name, ignore=ignore, copy_function=shutil.copy)
    return root


def test_a_second_clone_decides_as_the_first(workdir: Path, tmp_path_factory):
    """Its first run once redid every step ("Code has changed since last execution"): its
    scripts were newer than outputs made by the first clone at the same commit."""
    out = workdir / "shared-outputs"
    run_tree(workdir, f"output_dir={out}")
    clone = second_clone(tmp_path_factory.mktemp("clone"))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "corpus").symlink_to(workdir / "corpus")

    def from_clone() -> str:
        run = subprocess.run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(clone / "Snakefile"),
             "--configfile", str(clone / "config.yaml"), "--workflow-profile",
             str(clone / "profiles" / "default"), "--directory", str(elsewhere), "--cores", "2",
             "--config", *TREE_RUN, "models=[unetr]", f"output_dir={out}"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        return run.stdout + run.stderr

    assert "Nothing to be done" in from_clone()
    chunks_made = (out / "chunks.csv").stat().st_mtime_ns
    with open(clone / "workflow" / "scripts" / "split_chunks.py", "a") as script:
        script.write("# a changed script still reruns its step\n")
    assert "split_chunks" in from_clone()
    assert (out / "chunks.csv").stat().st_mtime_ns != chunks_made


def test_a_run_after_one_from_elsewhere_sees_its_outputs_are_not_its_own(
    workdir: Path, tmp_path_factory
):
    """Run here, then from another directory on another input, then here again: Snakemake's
    records here held the checksum of the provenance record as it was again, and the third run
    said "Nothing to be done" over the other input's manifest and features."""
    out = workdir / "shared-outputs"
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for i in range(3):
        write_audio(elsewhere / "corpus" / "training" / "real" / f"{i}.wav", seed=i)
    assert "11 files: 11 ok" in run_tree(workdir, f"output_dir={out}")
    assert "3 files: 3 ok" in run_tree(elsewhere, f"output_dir={out}")
    assert "11 files: 11 ok" in run_tree(workdir, f"output_dir={out}")
    assert len((out / "manifest.csv").read_text().splitlines()) == 1 + 11


def test_changed_settings_are_seen_without_snakemakes_records(workdir: Path):
    run_tree(workdir)
    forget_snakemake_records(workdir)
    run_tree(workdir, "batch_size=2", "memory_mode=very_low")
    settings = json.loads((workdir / OUT / "unetr" / "settings.json").read_text())
    assert settings["batch_size"] == 2
    stats = fraudprep.read_dataset_stats(workdir / OUT, "unetr")
    assert stats["settings"]["batch_size"] == 2
    assert stats["total_batches"] == 6  # 6 training, 2 validation, 3 testing files by 2


def test_nothing_changed_is_nothing_to_be_done_without_snakemakes_records(workdir: Path):
    run_tree(workdir)
    forget_snakemake_records(workdir)
    assert "Nothing to be done" in run_tree(workdir)


def test_a_report_or_dry_run_with_another_config_leaves_the_records_alone(workdir: Path):
    """Only a run that makes outputs says what they were made from: a report, a summary or a
    dry run under another config once rewrote the records, which then described outputs
    nobody had made, and the next real run redid every step."""
    run_tree(workdir)
    records = {p.name: p.read_bytes() for p in (workdir / OUT / "provenance").iterdir()}
    other = ("--config", *TREE_RUN, "models=[unetr]", "chunk_size=2", "hash_files=false")
    for command in (("--report", "report.html"), ("--summary",), ("-n",)):
        run = subprocess.run(snakemake_command(workdir, *command, *other),
                             capture_output=True, text=True, timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        after = {p.name: p.read_bytes() for p in (workdir / OUT / "provenance").iterdir()}
        assert after == records, command
    forget_snakemake_records(workdir)
    assert "Nothing to be done" in run_tree(workdir)


def test_a_model_left_out_of_a_later_run_refuses_to_load(workdir: Path):
    run_tree(workdir, models="[unetr,resnet_low_memory]")
    fraudprep.load(workdir / OUT, "resnet_low_memory", "training")  # current: loads
    (workdir / "corpus" / "training" / "fake" / "tts_1.wav").unlink()
    output = run_tree(workdir, models="[unetr]")
    assert "resnet_low_memory: left by an earlier run (not in models), made from another" in output
    with pytest.raises(StaleOutputsError, match="earlier manifest"):
        fraudprep.load(workdir / OUT, "resnet_low_memory", "training")
    x, _ = fraudprep.load(workdir / OUT, "unetr", "train")  # the manifest's name for it works
    assert len(x) == 5


def test_switching_format_and_chunk_size_leaves_no_stale_files(workdir: Path):
    run_tree(workdir, "chunk_size=2")
    model_dir = workdir / OUT / "unetr"
    assert (model_dir / "batch_metadata.pkl").exists()
    chunks_before = {p.name for p in (model_dir / "chunks").iterdir()}
    run_tree(workdir, "chunk_size=4", "format=npy")
    names = {p.name for p in model_dir.iterdir()}
    assert not {n for n in names if n.endswith(".pkl")}, names
    assert "batch_metadata.json" in names
    chunks_after = {p.name for p in (model_dir / "chunks").iterdir()}
    assert len(chunks_after) < len(chunks_before)  # fewer, larger chunks: the others are gone
    table = (workdir / OUT / "chunks.csv").read_text().splitlines()[1:]
    assert chunks_after == {line.split(",")[0] for line in table}


def test_reaggregation_leaves_no_aside_files(workdir: Path):
    run_tree(workdir)
    for _ in range(3):
        run_tree(workdir, "--forcerun", "aggregate_batches")
    leftovers = [p.name for p in (workdir / OUT / "unetr").iterdir() if "partial" in p.name]
    assert leftovers == []
