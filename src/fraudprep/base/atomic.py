"""Write files and directories aside, then rename them into place.

A crash (kill -9, OOM killer, power loss) can interrupt any write. Readers, and a rerun that
decides what is already done, must never see a half-written file: so every output is written
under a temporary name in the same directory and renamed with ``os.replace``, which is atomic
on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import queue
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import IO

from fraudprep.base.processes import process_is_gone

PARTIAL_SUFFIX = ".partial"

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
DENIED_ERRNOS = (errno.EACCES, errno.EPERM)


class OutputWriteError(OSError):
    """Outputs cannot be written (disk full, read-only, no permission); says what to do."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()  # the sentence, without "[Errno 30]"

    @classmethod
    def from_os_error(cls, error: OSError, output_dir: str | Path) -> OSError:
        if isinstance(error, cls):
            return error  # already says it (atomic_write converts its own errors)
        # Permission errors can come from reading inputs too: convert only those on outputs.
        outputs = Path(output_dir).resolve().parent
        on_outputs = error.filename is not None and Path(error.filename).resolve().is_relative_to(
            outputs
        )
        if error.errno not in FULL_ERRNOS and not (error.errno in DENIED_ERRNOS and on_outputs):
            return error
        return cls(
            error.errno,
            f"cannot write outputs under {output_dir}: {error.strerror}. "
            "Nothing partial was kept; free disk space or set output_dir to a writable place "
            "with room, then rerun the same command",
        )


def _sync_path(path: Path, sync: Callable[[int], None] = os.fsync) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        sync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    # The rename itself lives in the directory entry: sync it so it survives a power cut.
    with contextlib.suppress(OSError):
        _sync_path(directory)


def _in_scratch_dir(path: Path) -> bool:
    return PARTIAL_SUFFIX in path.parent.name


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, verified: bool = False, **open_kwargs
) -> Iterator[IO]:
    """Open ``path`` for writing so that it appears complete or not at all.

    Inside a scratch directory (see :func:`fresh_partial_dir`) the file's data is synced in
    the background, and :func:`publish_dir` waits for it: the directory, not the file, is
    what appears atomically there. ``verified``: the file's size and checksum are recorded
    (batch files, in the chunk's metadata), so in a scratch directory it is written in place
    and not synced: a power cut that loses its data is seen by its size or checksum and the
    file rebuilt (fraudprep.outputs.verify), and syncing each cost more than writing it (0.3 ms of a
    602 KB sample, on this project's test machine).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a read-only output folder fails here, before any file
        raise OutputWriteError.from_os_error(error, target.parent) from error
    deferred = _in_scratch_dir(target)
    if deferred and verified:
        yield from _written_in_place(target, mode, **open_kwargs)
        return
    tmp = _aside(target)
    if not deferred:  # scratch directories are discarded whole, with what they hold
        _remove_dead_asides(target)
    try:
        with open(tmp, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            if not deferred:
                os.fdatasync(handle.fileno())  # the data, not the timestamps
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(error, OSError):
            # A full disk or read-only output folder: one message that says what to do.
            raise OutputWriteError.from_os_error(error, target.parent) from error
        raise
    if deferred:
        _background_syncs.submit(target)
    else:
        _fsync_dir(target.parent)


def _written_in_place(target: Path, mode: str, **open_kwargs) -> Iterator[IO]:
    try:
        with open(target, mode, **open_kwargs) as handle:
            yield handle
    except OSError as error:
        raise OutputWriteError.from_os_error(error, target.parent) from error


def _fdatasync_path(path: Path) -> None:
    _sync_path(path, os.fdatasync)  # the data, not the timestamps


def _key(directory: Path) -> str:
    return os.path.abspath(directory)


class _BackgroundSyncs:
    """Flushes files to disk on one thread while the job computes the next batch.

    Syncing in line made every file wait for the disk; on this thread the wait overlaps with
    computing. Only the syncs not yet finished are held (a chunk's memory must not grow with
    its size), and a failed one fails the next write.

    The thread is a daemon fed by a queue, not a ThreadPoolExecutor: the executor's worker is
    joined at interpreter exit, and an interrupt (Ctrl-C, SIGTERM turned into an exception)
    landing while it started left the worker waiting on its queue and the exit waiting on the
    worker. A daemon never holds up the exit; what it had not synced was in a scratch
    directory that is discarded anyway.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Path, Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: dict[str, deque[Future]] = {}  # by absolute directory

    def submit(self, path: Path) -> None:
        pending = self._pending.setdefault(_key(path.parent), deque())
        while pending and pending[0].done():
            pending.popleft().result()  # raises the error of a failed sync
        future: Future = Future()
        pending.append(future)
        self._queue.put((path, future))
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="fdatasync", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            path, future = self._queue.get()
            try:
                _fdatasync_path(path)
            except BaseException as error:  # handed to the job's thread, which raises it
                future.set_exception(error)
            else:
                future.set_result(None)

    def wait(self, directory: Path) -> None:
        """Block until every file submitted from ``directory`` is on disk; raise the first
        error (a disk that failed to take the data must fail the job, not be ignored)."""
        for future in self._pending.pop(_key(directory), deque()):
            future.result()


_background_syncs = _BackgroundSyncs()


def _aside(target: Path) -> Path:
    """The hidden name a file is written under before it is renamed to ``target``."""
    return target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_SUFFIX}")


def _remove_dead_asides(target: Path) -> None:
    """Delete aside files of ``target`` left by writers that were killed mid-write."""
    for aside in target.parent.glob(f".{glob.escape(target.name)}.*{PARTIAL_SUFFIX}"):
        owner = aside.name[len(target.name) + 2 : -len(PARTIAL_SUFFIX)]
        if owner.isdigit() and process_is_gone(int(owner)):
            with contextlib.suppress(FileNotFoundError):
                aside.unlink()


def partial_dir_for(target: str | os.PathLike[str]) -> Path:
    """The scratch directory a job fills before :func:`publish_dir` renames it to ``target``.

    It is named by process id: a job orphaned by a killed scheduler may still be running when
    the rerun's job for the same output starts, and the two must not share scratch space.
    """
    target = Path(target)
    return target.with_name(f"{target.name}{PARTIAL_SUFFIX}-{os.getpid()}")


def _remove_dead_scratch(target: Path) -> None:
    for scratch in target.parent.glob(f"{glob.escape(target.name)}{PARTIAL_SUFFIX}-*"):
        owner = scratch.name.rsplit("-", 1)[1]
        if owner.isdigit() and process_is_gone(int(owner)):
            shutil.rmtree(scratch, ignore_errors=True)


def fresh_partial_dir(target: str | os.PathLike[str]) -> Path:
    """Create an empty scratch directory for ``target``, discarding ones crashed jobs left."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_scratch(target)
    scratch = partial_dir_for(target)
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    return scratch


def publish_dir(scratch: Path, target: str | os.PathLike[str]) -> None:
    """Rename a finished scratch directory into place, replacing any older ``target``.

    The old directory is first renamed aside, so ``target`` is at every moment either the old
    complete directory, absent, or the new complete one.
    """
    target = Path(target)
    _background_syncs.wait(scratch)
    _fsync_dir(scratch)
    if target.exists():
        retired = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, retired)
        shutil.rmtree(retired)
    os.replace(scratch, target)
    _fsync_dir(target.parent)


def link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` hold ``source``'s bytes: a hard link where possible, else an atomic copy.

    Hard links cost no disk and no I/O; a copy is the fallback across file systems.
    """
    with contextlib.suppress(FileNotFoundError):
        if os.path.samefile(source, target):
            return  # already linked (a re-aggregation): renaming onto it would do nothing
    tmp = _aside(target)
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    # rename() between two names of one inode succeeds without removing the source name.
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
