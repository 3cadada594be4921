"""The output_dir's own lock: one run at a time, whichever checkout or directory it starts from;
a live holder is named, a dead one's lock is cleared."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

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
