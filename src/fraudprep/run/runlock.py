"""Clearing the Snakemake lock a killed run leaves behind, and only that one.

Snakemake locks its working directory while it runs and removes the lock when it exits; a
run killed with SIGKILL (OOM killer, lost node) cannot, and the next run then refuses to
start until ``snakemake --unlock``. We record which process holds the lock; when that process
is provably gone (same host, pid dead or reused), the next run removes the stale lock itself.
A lock whose owner is alive, unknown, or on another host is left alone.

The owner record names the lock files it describes (inode and modification time): a record
left by an earlier run never vouches for the locks of a new one. Without that, a run started
in the moment between another run taking the lock and recording itself read the earlier
run's record, found its process dead, and removed the live run's lock.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import psutil

from fraudprep.base.atomic import atomic_write
from fraudprep.base.processes import recorded_process_is_gone

OWNER_FILE = "fraudprep-run-owner.json"


def _snakemake_dir(workdir: str | os.PathLike[str]) -> Path:
    return Path(workdir) / ".snakemake"


def _lock_files(workdir: str | os.PathLike[str]) -> list[Path]:
    return sorted((_snakemake_dir(workdir) / "locks").glob("*.lock"))


def _identities(locks: list[Path]) -> dict[str, list[int]]:
    """Each lock file's name -> (inode, mtime): a new lock file differs even under an old name."""
    identities = {}
    for lock in locks:
        try:
            info = lock.stat()
        except FileNotFoundError:
            continue
        identities[lock.name] = [info.st_ino, info.st_mtime_ns]
    return identities


def record_run_owner(workdir: str | os.PathLike[str] = ".", local_jobs: bool = False) -> None:
    """Note this process as the holder of the working directory's lock files, as they are
    now; ``local_jobs`` says its jobs run as its own children (so they die with it)."""
    me = psutil.Process()
    owner = {
        "pid": me.pid,
        "host": socket.gethostname(),
        "started": me.create_time(),
        "local_jobs": local_jobs,
        "locks": _identities(_lock_files(workdir)),
    }
    with atomic_write(_snakemake_dir(workdir) / OWNER_FILE, "w", encoding="utf-8") as handle:
        json.dump(owner, handle)


def forget_run_owner(workdir: str | os.PathLike[str] = ".") -> None:
    """At the end of a run, before Snakemake releases its lock: the record describes no lock
    once this run is over, so it must not outlive it."""
    (_snakemake_dir(workdir) / OWNER_FILE).unlink(missing_ok=True)


class OrphanedJobsError(RuntimeError):
    """Cluster jobs of a killed run still work in this directory; resuming now would race them."""


def cluster_jobs_in(workdir: str | os.PathLike[str]) -> list[str]:
    """Ids of this user's pending or running SLURM jobs whose working directory is ``workdir``
    (none when SLURM is not installed)."""
    squeue = shutil.which("squeue")
    if squeue is None:
        return []
    try:
        listing = subprocess.run(
            [squeue, "--me", "--noheader", "--states=PENDING,RUNNING,CONFIGURING,COMPLETING",
             "--format=%i %Z"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    here = os.path.realpath(workdir)
    jobs = (line.split(maxsplit=1) for line in listing.splitlines() if line.strip())
    return [job for job, *rest in jobs if rest and os.path.realpath(rest[0].strip()) == here]


def clear_stale_locks(workdir: str | os.PathLike[str] = ".") -> list[str]:
    """Remove lock files left by a dead run of this workflow; return the names removed.

    Refuses (:class:`OrphanedJobsError`) while cluster jobs of that run still work here: a
    rerun would submit the same chunks again and the two jobs would race on one output.
    """
    snakemake_dir = _snakemake_dir(workdir)
    locks = _lock_files(workdir)
    owner_file = snakemake_dir / OWNER_FILE
    if not locks or not owner_file.exists():
        return []
    try:
        owner = json.loads(owner_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if owner.get("locks") != _identities(locks):
        return []  # these locks are not the ones the record describes: their owner is unknown
    if not recorded_process_is_gone(owner):
        return []
    orphans = [] if owner.get("local_jobs") else cluster_jobs_in(workdir)
    if orphans:
        raise OrphanedJobsError(
            f"the killed run left {len(orphans)} SLURM job(s) running in this directory "
            f"({' '.join(orphans[:10])}); cancel them (scancel {' '.join(orphans[:10])}) or "
            "wait for them to end, then rerun the same command"
        )
    for lock in locks:
        lock.unlink(missing_ok=True)
    owner_file.unlink(missing_ok=True)
    return [lock.name for lock in locks]
