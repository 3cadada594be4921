"""The output_dir's own lock: one run at a time, whichever checkout or directory it starts from;
a live holder is named, a dead one's lock is cleared."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers import snakemake_command, write_audio

from fraudprep.run import outputlock
from fraudprep.run.outputlock import OutputDirInUseError, acquire_output_lock, lock_path
from fraudprep.run.runlock import OrphanedJobsError


def held_by(output_dir: Path, **holder) -> Path:
    path = lock_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(holder))
    return path


def dead_process() -> dict:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(process.pid).create_time()
    process.wait()
    return {"pid": process.pid, "started": started, "host": socket.gethostname()}


def test_a_second_run_is_refused_naming_the_holder(tmp_path: Path):
    out = tmp_path / "out"
    first = acquire_output_lock(out, "/checkouts/a")
    assert first is not None
    with pytest.raises(OutputDirInUseError) as refused:
        acquire_output_lock(out, "/checkouts/b")
    message = str(refused.value)
    assert "\n" not in message
    for part in (f"pid {psutil.Process().pid}", socket.gethostname(), "checkout /checkouts/a"):
        assert part in message
    first.release()
    assert not lock_path(out).exists()
    second = acquire_output_lock(out, "/checkouts/b")
    assert json.loads(lock_path(out).read_text())["checkout"] == "/checkouts/b"
    second.release()


def test_a_dead_holders_lock_is_cleared(tmp_path: Path):
    held_by(tmp_path, **dead_process(), checkout="/checkouts/a")
    lock = acquire_output_lock(tmp_path, "/checkouts/b")
    assert lock.cleared_stale
    assert json.loads(lock_path(tmp_path).read_text())["pid"] == psutil.Process().pid


@pytest.mark.parametrize(
    "holder, advice",
    [
        ({**dead_process(), "host": "another-node"}, "if it is no longer running, delete"),
        ({}, "which names no run"),  # not written by this module: the user decides
    ],
)
def test_a_holder_that_cannot_be_checked_keeps_the_lock(tmp_path: Path, holder, advice):
    path = held_by(tmp_path, **holder)
    with pytest.raises(OutputDirInUseError, match=advice):
        acquire_output_lock(tmp_path, "/checkouts/b")
    assert json.loads(path.read_text()) == holder


def test_release_leaves_another_runs_lock_alone(tmp_path: Path):
    """A run whose lock was cleared as stale (it looked dead) must not remove the new one."""
    mine = acquire_output_lock(tmp_path, "/checkouts/a")
    lock_path(tmp_path).unlink()
    held_by(tmp_path, pid=1, started=0.0, host="another-node")
    mine.release()
    assert lock_path(tmp_path).exists()


def test_a_folder_nobody_can_write_needs_no_lock(tmp_path: Path, monkeypatch):
    """Root ignores file modes, so the read-only file system is injected."""

    def read_only(*args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path))

    monkeypatch.setattr(outputlock, "_create", read_only)
    assert acquire_output_lock(tmp_path, "/checkouts/a") is None


def corpus(root: Path, files_per_class: int) -> Path:
    for split in ("training", "validation", "testing"):
        for label in ("real", "fake"):
            for i in range(files_per_class):
                write_audio(root / split / label / f"{i}.wav", seconds=2.0 + i % 5, seed=i)
    return root


def workflow(workdir: Path, out: Path, *args: str) -> list[str]:
    config = ("input_dir=corpus", "report_figures=False", "chunk_size=3", f"output_dir={out}",
              "models=[unetr,resnet_low_memory]")  # fmt: skip
    return snakemake_command(workdir, "--cores", "2", *args, "--config", *config)


FIRST_FILES_PER_CLASS = 20


def test_a_second_run_on_a_live_output_dir_refuses_at_once(tmp_path: Path):
    """Two working directories (as two checkouts have) do not share Snakemake's lock: the
    second run once rewrote the chunk table under the first one's jobs, which died with
    KeyError: "chunk 'chunk-00007' is not in chunks.csv"."""
    out = tmp_path / "shared-outputs"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    # Long enough (40 jobs of 3 files) to outlast the three runs made while it goes: with 16
    # jobs it once ended first on a loaded machine, and the test tested nothing.
    corpus(first_dir / "corpus", FIRST_FILES_PER_CLASS)
    corpus(second_dir / "corpus", 4)
    first = subprocess.Popen(
        workflow(first_dir, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "manifest.csv").exists():  # the first run's jobs have begun
            assert first.poll() is None and time.monotonic() < deadline, "the first never began"
            time.sleep(0.05)
        second = subprocess.run(workflow(second_dir, out), capture_output=True, text=True)
        # In the same directory Snakemake's lock also refuses, but advised --unlock, which
        # would have broken the live run: the holder is named instead.
        same_dir = subprocess.run(workflow(first_dir, out), capture_output=True, text=True)
        dry = subprocess.run(workflow(second_dir, out, "-n"), capture_output=True, text=True)
        still_running = first.poll() is None
    finally:
        output, _ = first.communicate(timeout=600)
    said = second.stdout + second.stderr
    assert second.returncode != 0, "a second run on a live output_dir was let through"
    assert still_running, "the first run ended before the second started: nothing was tested"
    assert f"fraudprep: output_dir {out} is in use by another run (pid {first.pid} on " in said
    assert f"run from {first_dir}" in said and "Traceback" not in said
    assert same_dir.returncode != 0
    assert f"is in use by another run (pid {first.pid} on " in same_dir.stderr
    assert "--unlock" not in same_dir.stdout + same_dir.stderr
    assert dry.returncode == 0, dry.stderr[-2000:]  # a dry run writes nothing: not refused
    assert first.returncode == 0, output[-3000:]
    assert not lock_path(out).exists()  # released at the end
    manifest = (out / "manifest.csv").read_text().splitlines()
    assert len(manifest) == 1 + 6 * FIRST_FILES_PER_CLASS  # the first run's corpus, whole
    again = subprocess.run(workflow(second_dir, out), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len((out / "manifest.csv").read_text().splitlines()) == 1 + 6 * 4


def test_a_dead_holders_cluster_jobs_keep_the_lock(tmp_path: Path, monkeypatch):
    """A killed SLURM client's jobs go on writing into output_dir: a new run must not race them."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    held_by(tmp_path / "out", **dead_process(), workdir=str(workdir), local_jobs=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "squeue").write_text(f"#!/bin/sh\necho '4711 {workdir}'\n")
    (bin_dir / "squeue").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(OrphanedJobsError, match=r"1 SLURM job\(s\).*scancel 4711"):
        acquire_output_lock(tmp_path / "out", "/checkouts/b")
    assert lock_path(tmp_path / "out").exists()


def test_the_lock_is_released_from_any_directory(tmp_path: Path, monkeypatch):
    """A run in ``--directory`` ends back where Snakemake was started, then releases."""
    monkeypatch.chdir(tmp_path)
    lock = acquire_output_lock("out", "/checkouts/a")
    monkeypatch.chdir("/")
    lock.release()
    assert not lock_path(tmp_path / "out").exists()
