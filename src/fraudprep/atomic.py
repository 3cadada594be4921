"""Write files and directories aside, then rename them into place.

A crash (kill -9, OOM killer, power loss) can interrupt any write. Readers, and a rerun that
decides what is already done, must never see a half-written file: so every output is written
under a temporary name in the same directory and renamed with ``os.replace``, which is atomic
on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PARTIAL_SUFFIX = ".partial"


def _fsync_dir(directory: Path) -> None:
    # The rename itself lives in the directory entry: sync it so it survives a power cut.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Open ``path`` for writing so that it appears complete or not at all."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        with open(tmp, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def partial_dir_for(target: str | os.PathLike[str]) -> Path:
    """The scratch directory a job fills before :func:`publish_dir` renames it to ``target``."""
    target = Path(target)
    return target.with_name(target.name + PARTIAL_SUFFIX)


def fresh_partial_dir(target: str | os.PathLike[str]) -> Path:
    """Create an empty scratch directory for ``target``, discarding one a crash left behind."""
    scratch = partial_dir_for(target)
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    return scratch


def publish_dir(scratch: Path, target: str | os.PathLike[str]) -> None:
    """Rename a finished scratch directory into place, replacing any older ``target``."""
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    os.replace(scratch, target)
    _fsync_dir(target.parent)


def link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` hold ``source``'s bytes: a hard link where possible, else an atomic copy.

    Hard links cost no disk and no I/O; a copy is the fallback across file systems.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
