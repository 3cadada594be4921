"""One run at a time in an ``output_dir``, whichever checkout or directory it starts from.

Snakemake locks its working directory (``.snakemake/locks``). Two checkouts, or two working
directories, pointed at one ``output_dir`` do not share that lock: a second run rewrote the
manifest and chunk table under the first run's jobs, which then failed with tracebacks. So the
run that executes jobs also holds ``<output_dir>/.fraudprep.lock``, which says who holds it
(host, pid, checkout, start time). Another run refuses at once and names the holder; a lock
whose holder is provably gone (same host, pid dead or reused) is cleared, as a killed run's
Snakemake lock is (:mod:`fraudprep.run.runlock`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from fraudprep.base.processes import recorded_process_is_gone
from fraudprep.run.runlock import OrphanedJobsError, cluster_jobs_in

LOCK_NAME = ".fraudprep.lock"
# A folder nobody can write to needs no lock: no run can change what is in it.
UNWRITABLE_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)
ATTEMPTS = 3  # a stale lock cleared, then taken by another run in between: refuse after that


class OutputDirInUseError(RuntimeError):
    """Another run, alive or not provably dead, holds the output_dir."""


@dataclass(frozen=True)
class OutputLock:
    path: Path
    # What this run wrote in it (host, pid and start time: no other run's record is the same).
    # Not the inode: a lock removed and made again by another run may reuse it.
    record: str
    cleared_stale: bool = False  # a killed run's lock was removed first

    def release(self) -> None:
        """Remove the lock if it is still the one this run made (idempotent)."""
        _unlink_if_same(self.path, self.record)


def lock_path(output_dir: str | os.PathLike[str]) -> Path:
    return Path(output_dir) / LOCK_NAME


def acquire_output_lock(
    output_dir: str | os.PathLike[str],
    checkout: str | os.PathLike[str],
    local_jobs: bool = True,
) -> OutputLock | None:
    """Take the output_dir's lock for this process; None when the folder cannot be written.

    ``local_jobs`` says this run's jobs are its own children (they die with it); a dead
    holder's cluster jobs may still write, as for Snakemake's lock. Raises
    :class:`OutputDirInUseError` naming the holder when another run holds it,
    :class:`~fraudprep.run.runlock.OrphanedJobsError` while a dead holder's SLURM jobs still run,
    and OSError for a folder that cannot be made (a read-only parent, a full disk).
    """
    path = lock_path(output_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if error.errno in UNWRITABLE_ERRNOS and path.parent.is_dir():
            return None
        raise
    text = json.dumps(_this_run(checkout, local_jobs), indent=1) + "\n"
    cleared = False
    for _ in range(ATTEMPTS):
        try:
            made = _create(path, text)
        except OSError as error:
            if error.errno in UNWRITABLE_ERRNOS:
                return None
            raise
        if made:
            # Absolute: Snakemake leaves the --directory it ran in before the lock is released.
            return OutputLock(path.absolute(), text, cleared)
        cleared = _clear_if_stale(path) or cleared
    raise OutputDirInUseError(
        f"output_dir {path.parent} is being taken by other runs at this moment "
        f"({path} keeps reappearing); let them start, then rerun"
    )


def _this_run(checkout: str | os.PathLike[str], local_jobs: bool) -> dict:
    me = psutil.Process()
    return {
        "host": socket.gethostname(),
        "pid": me.pid,
        "started": me.create_time(),
        "checkout": os.path.abspath(checkout),
        "workdir": os.getcwd(),
        "local_jobs": local_jobs,
    }


def _create(path: Path, text: str) -> bool:
    """Make ``path`` hold ``text``, atomically and only if it does not exist (False if it
    does). Written aside and hard-linked into place, so no reader ever sees a lock without
    its holder's record."""
    aside = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with open(aside, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            os.link(aside, path)
        except FileExistsError:
            return False
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            return _create_exclusive(path, text)  # a file system without hard links
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            aside.unlink()


def _create_exclusive(path: Path, text: str) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _parsed(text: str) -> dict:
    try:
        holder = json.loads(text)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _clear_if_stale(path: Path) -> bool:
    """Remove the lock when its holder is provably gone (True); otherwise refuse, naming it."""
    text = _read_text(path)
    if text is None:
        return False  # released meanwhile: try again
    holder = _parsed(text)
    if not recorded_process_is_gone(holder):
        raise OutputDirInUseError(describe_holder(path, holder))
    _refuse_orphaned_jobs(path, holder)
    # Only the record judged stale: a run that cleared it first may have made a new one since.
    _unlink_if_same(path, text)
    return True


def _refuse_orphaned_jobs(path: Path, holder: dict) -> None:
    """A dead holder's SLURM jobs still write into output_dir: a new run would race them."""
    if holder.get("local_jobs", True) or "workdir" not in holder:
        return
    orphans = cluster_jobs_in(holder["workdir"])
    if orphans:
        shown = " ".join(orphans[:10])
        raise OrphanedJobsError(
            f"the killed run that held {path.parent} left {len(orphans)} SLURM job(s) "
            f"running in {holder['workdir']} ({shown}); cancel them (scancel {shown}) or "
            "wait for them to end, then rerun"
        )


def _unlink_if_same(path: Path, text: str) -> None:
    if _read_text(path) == text:
        path.unlink(missing_ok=True)


def describe_holder(path: Path, holder: dict) -> str:
    """One line: which run holds the output_dir and what to do about it."""
    output_dir = path.parent
    if "pid" not in holder:
        return (
            f"output_dir {output_dir} is locked by {path}, which names no run; if no run is "
            f"using {output_dir}, delete {path} and rerun"
        )
    started = holder.get("started")
    since = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
        if isinstance(started, int | float)
        else "an unknown time"
    )
    who = (
        f"pid {holder['pid']} on {holder.get('host', 'an unknown host')}, "
        f"checkout {holder.get('checkout', '?')}, run from {holder.get('workdir', '?')}, "
        f"started {since}"
    )
    if holder.get("host") == socket.gethostname():
        advice = "wait for it to end, or set another output_dir"
    else:
        advice = (
            f"it cannot be checked from this host; wait for it to end, or, if it is no "
            f"longer running, delete {path}"
        )
    return f"output_dir {output_dir} is in use by another run ({who}): {advice}"
