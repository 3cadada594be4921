"""Clearing the Snakemake lock a killed run leaves behind, and only that one.

Snakemake locks its working directory while it runs and removes the lock when it exits; a
run killed with SIGKILL (OOM killer, lost node) cannot, and the next run then refuses to
start until ``snakemake --unlock``. We record which process holds the lock; when that process
is provably gone (same host, pid dead or reused), the next run removes the stale lock itself.
A lock whose owner is alive, unknown, or on another host is left alone.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import psutil

from fraudprep.atomic import atomic_write
from fraudprep.processes import process_is_gone

OWNER_FILE = "fraudprep-run-owner.json"


def _snakemake_dir(workdir: str | os.PathLike[str]) -> Path:
    return Path(workdir) / ".snakemake"


def record_run_owner(workdir: str | os.PathLike[str] = ".") -> None:
    """Note this process as the holder of the working directory's lock."""
    me = psutil.Process()
    owner = {"pid": me.pid, "host": socket.gethostname(), "started": me.create_time()}
    with atomic_write(_snakemake_dir(workdir) / OWNER_FILE, "w", encoding="utf-8") as handle:
        json.dump(owner, handle)


def _owner_is_gone(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return False  # a process on another host cannot be checked from here
    try:
        return process_is_gone(int(owner["pid"]), float(owner["started"]))
    except (KeyError, TypeError, ValueError):
        return False


def clear_stale_locks(workdir: str | os.PathLike[str] = ".") -> list[str]:
    """Remove lock files left by a dead run of this workflow; return the names removed."""
    snakemake_dir = _snakemake_dir(workdir)
    locks = sorted((snakemake_dir / "locks").glob("*.lock"))
    owner_file = snakemake_dir / OWNER_FILE
    if not locks or not owner_file.exists():
        return []
    try:
        owner = json.loads(owner_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not _owner_is_gone(owner):
        return []
    for lock in locks:
        lock.unlink(missing_ok=True)
    owner_file.unlink(missing_ok=True)
    return [lock.name for lock in locks]
