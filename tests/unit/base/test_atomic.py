"""Atomic outputs: files appear whole or not at all, and scratch directories are published
only once everything in them is on disk."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fraudprep.base import atomic
from fraudprep.base.atomic import OutputWriteError, atomic_write, fresh_partial_dir, publish_dir


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path: Path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half")
        raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_publish_waits_for_every_file_synced_in_the_background(tmp_path, monkeypatch):
    synced: list[str] = []
    monkeypatch.setattr(atomic, "_fdatasync_path", lambda path: synced.append(path.name))
    target = tmp_path / "chunk"
    scratch = fresh_partial_dir(target)
    for name in ("a.pkl", "b.pkl", "chunk.json"):
        with atomic_write(scratch / name) as handle:
            handle.write(name.encode())
    publish_dir(scratch, target)
    assert sorted(synced) == ["a.pkl", "b.pkl", "chunk.json"]
    assert sorted(p.name for p in target.iterdir()) == ["a.pkl", "b.pkl", "chunk.json"]
    assert not scratch.exists()


def test_a_failed_background_sync_fails_the_publish(tmp_path, monkeypatch):
    def failing_sync(path: Path) -> None:
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(atomic, "_fdatasync_path", failing_sync)
    target = tmp_path / "chunk"
    scratch = fresh_partial_dir(target)
    with atomic_write(scratch / "batch.pkl") as handle:
        handle.write(b"data")
    with pytest.raises(OSError, match="Input/output error"):
        publish_dir(scratch, target)
    assert not target.exists()  # never published: a rerun redoes the chunk


def test_files_outside_scratch_directories_are_synced_before_they_appear(tmp_path, monkeypatch):
    deferred: list[Path] = []
    monkeypatch.setattr(atomic._background_syncs, "submit", deferred.append)
    with atomic_write(tmp_path / "manifest.csv", "w") as handle:
        handle.write("path\n")
    assert deferred == []
    assert (tmp_path / "manifest.csv").read_text() == "path\n"


def test_aside_files_of_killed_writers_are_removed_on_the_next_write(tmp_path: Path):
    dead_pid = 2**22 + 12345  # above Linux's pid_max: no such process
    stale = tmp_path / f".counts.png.{dead_pid}.partial"
    stale.write_bytes(b"half a figure")
    other = tmp_path / f".examples.png.{dead_pid}.partial"  # another output's: left alone
    other.write_bytes(b"x")
    with atomic_write(tmp_path / "counts.png") as handle:
        handle.write(b"png")
    assert not stale.exists()
    assert other.exists()
    assert (tmp_path / "counts.png").read_bytes() == b"png"


def test_finished_syncs_are_not_held_and_a_failed_one_fails_the_next_write(tmp_path, monkeypatch):
    def sync(path: Path) -> None:
        if path.name == "b.pkl":
            raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(atomic, "_fdatasync_path", sync)
    scratch = fresh_partial_dir(tmp_path / "chunk")

    def write(name: str) -> None:
        with atomic_write(scratch / name) as handle:
            handle.write(name.encode())

    write("a.pkl")
    pending = atomic._background_syncs._pending[os.path.abspath(scratch)]
    pending[-1].result(timeout=5)
    write("b.pkl")
    assert len(pending) == 1  # a's finished sync was let go; b's is held
    pending[-1].exception(timeout=5)
    with pytest.raises(OSError, match="Input/output error"):
        write("c.pkl")  # fails fast, not only at publish
    atomic._background_syncs.wait(scratch)


def test_relinking_an_already_linked_file_leaves_no_aside_name(tmp_path: Path):
    """Re-aggregation links batches that are already linked: rename() between two names of one
    inode does nothing, and the aside names used to pile up (15 -> 30 -> 45)."""
    source = tmp_path / "chunks" / "batch.pkl"
    source.parent.mkdir()
    source.write_bytes(b"batch")
    target = tmp_path / "training_batch_0.pkl"
    for _ in range(3):
        atomic.link_or_copy(source, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks", "training_batch_0.pkl"]
    assert os.path.samefile(source, target)


EXIT_WITH_A_SYNC_IN_FLIGHT = """
import sys, threading, time
from pathlib import Path
from fraudprep.base import atomic
started = threading.Event()
def stuck(path):
    started.set()
    time.sleep(3600)  # a disk that never answers
atomic._fdatasync_path = stuck
scratch = atomic.fresh_partial_dir(Path(sys.argv[1]) / "chunk")
with atomic.atomic_write(scratch / "batch.pkl") as handle:
    handle.write(b"data")
started.wait()
raise KeyboardInterrupt  # as Ctrl-C would, while the sync is in flight
"""


def test_an_interrupt_is_never_held_up_by_a_background_sync(tmp_path: Path):
    """A pending sync must not keep an interrupted job alive (the interpreter used to join
    the sync worker at exit: Snakemake waited 11 minutes for one job)."""
    run = subprocess.run(
        [sys.executable, "-c", EXIT_WITH_A_SYNC_IN_FLIGHT, str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode != 0 and "KeyboardInterrupt" in run.stderr


def test_a_folder_that_cannot_be_made_is_the_one_line_error(tmp_path: Path, monkeypatch):
    """A read-only output_dir failed in mkdir, before the conversion, as a raw OSError. Root
    writes through file modes, so the read-only file system is injected."""

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(OutputWriteError) as failed, atomic_write(tmp_path / "new" / "x.json"):
        pass
    assert str(failed.value).startswith(f"cannot write outputs under {tmp_path / 'new'}: Read-only")


def test_a_job_ended_by_a_full_disk_says_it_in_one_line(tmp_path):
    """Issue 26 (also): a full disk during extraction printed three stacked tracebacks around
    the one sentence that says what to do."""
    import subprocess
    import sys

    script = (
        "import errno, os\n"
        "from fraudprep.base.atomic import OutputWriteError\n"
        "from fraudprep.base.logs import one_line_on\n"
        "with one_line_on(OutputWriteError):\n"
        "    try:\n"
        "        raise OSError(errno.ENOSPC, 'No space left on device', 'out/x.pkl')\n"
        "    except OSError as error:\n"
        "        raise OutputWriteError.from_os_error(error, 'out') from error\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)  # fmt: skip
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    [line] = run.stderr.splitlines()
    assert line.startswith("fraudprep: cannot write outputs under out") and "free disk" in line
