"""Stale Snakemake locks: removed when their run is provably dead, kept otherwise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from fraudprep.run.runlock import (
    OWNER_FILE,
    OrphanedJobsError,
    clear_stale_locks,
    forget_run_owner,
    record_run_owner,
)


def locked_workdir(tmp_path: Path, owner: dict | None) -> Path:
    """A working directory locked by ``owner``, whose record describes the lock as it is."""
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    lock = locks / "0.input.lock"
    lock.write_text("data/x\n")
    if owner is not None:
        info = lock.stat()
        owner = {"locks": {lock.name: [info.st_ino, info.st_mtime_ns]}, **owner}
        (tmp_path / ".snakemake" / OWNER_FILE).write_text(json.dumps(owner))
    return tmp_path


def dead_owner() -> dict:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(process.pid).create_time()
    process.wait()
    return {"pid": process.pid, "host": socket.gethostname(), "started": started}


def test_lock_of_a_dead_run_is_removed(tmp_path: Path):
    workdir = locked_workdir(tmp_path, dead_owner())
    assert clear_stale_locks(workdir) == ["0.input.lock"]
    assert not list((workdir / ".snakemake" / "locks").iterdir())


def test_lock_of_a_live_run_is_kept(tmp_path: Path):
    workdir = tmp_path
    workdir.joinpath(".snakemake", "locks").mkdir(parents=True)
    (workdir / ".snakemake" / "locks" / "0.input.lock").write_text("x\n")
    record_run_owner(workdir)  # this test process is alive
    assert clear_stale_locks(workdir) == []
    assert (workdir / ".snakemake" / "locks" / "0.input.lock").exists()


@pytest.mark.parametrize("owner", [None, {**dead_owner(), "host": "another-node"}])
def test_unknown_or_remote_owner_keeps_the_lock(tmp_path: Path, owner):
    workdir = locked_workdir(tmp_path, owner)
    assert clear_stale_locks(workdir) == []


def test_orphaned_cluster_jobs_block_the_resume(tmp_path: Path, monkeypatch):
    workdir = locked_workdir(tmp_path / "run", dead_owner())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_squeue = bin_dir / "squeue"
    fake_squeue.write_text(f"#!/bin/sh\necho '4711 {workdir}'\necho '4712 /elsewhere'\n")
    fake_squeue.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(OrphanedJobsError, match=r"1 SLURM job\(s\).*scancel 4711"):
        clear_stale_locks(workdir)
    assert (workdir / ".snakemake" / "locks" / "0.input.lock").exists()


def test_a_finished_runs_record_never_vouches_for_a_new_lock(tmp_path: Path):
    """A run starting between another run taking the lock and recording itself finds the
    record of an earlier, finished (dead) run: the new lock is not the one it describes."""
    workdir = locked_workdir(tmp_path, dead_owner())
    lock = workdir / ".snakemake" / "locks" / "0.input.lock"
    lock.unlink()  # the earlier run ended; a new run takes the lock under the same name
    lock.write_text("data/x\n")
    os.utime(lock, ns=(lock.stat().st_atime_ns, lock.stat().st_mtime_ns + 1_000_000))
    assert clear_stale_locks(workdir) == []
    assert lock.exists()


def test_a_run_forgets_its_record_when_it_ends(tmp_path: Path):
    workdir = tmp_path
    (workdir / ".snakemake" / "locks").mkdir(parents=True)
    record_run_owner(workdir)
    assert (workdir / ".snakemake" / OWNER_FILE).exists()
    forget_run_owner(workdir)
    assert not (workdir / ".snakemake" / OWNER_FILE).exists()
