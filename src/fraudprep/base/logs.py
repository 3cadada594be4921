"""Logging for workflow jobs: everything a job prints goes to its Snakemake ``log:`` file."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fraudprep.base.memory import rss_mb

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
# Job logs get a progress line at most this often (and at the first and last file).
PROGRESS_SECONDS = 2.0
T = TypeVar("T")

log = logging.getLogger(__name__)


def log_job_to(log_path: str | Path) -> None:
    """Send this process's stdout, stderr and logging to ``log_path`` (appending)."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the job
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format=LOG_FORMAT, force=True)
    logging.captureWarnings(True)


@contextlib.contextmanager
def one_line_on(*errors: type[BaseException]) -> Iterator[None]:
    """A job ended by one of ``errors`` (a full disk, outputs that will not fit) says it in
    one ``fraudprep:`` line, in its log and on the console, and exits with status 1: its
    message says what to do, and a stack of frames (three, for a chained OS error) would
    only bury it."""
    try:
        yield
    except errors as error:
        line = f"fraudprep: {error}"
        print(line, flush=True)  # the job's log (see log_job_to)
        print(line, file=sys.__stderr__, flush=True)
        raise SystemExit(1) from None


def decimal_size(count: float) -> str:
    """Bytes in decimal units (as ``du --si`` and the run summary count them): ``"180.7 MB"``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{int(count)} B" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def time_left(seconds: float) -> str:
    """``seconds`` to go in words: ``"about 17 s"``, ``"about 12 min"``, ``"about 2.5 h"``."""
    if seconds < 120:
        return f"about {seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def progress_line(
    what: str, done: int, total: int, seconds: float, failures: int | None = None
) -> str:
    """``"chunk-00003: file 1200 of 2000, 48.0 files/s, about 17 s left, 2 failures"``: the
    form job logs carry and ``fraudprep run`` reads back (fraudprep.cli.console)."""
    rate = done / seconds if seconds > 0 else 0.0
    left = time_left((total - done) / rate) if rate > 0 else "unknown time"
    line = f"{what}: file {done} of {total}, {rate:.1f} files/s, {left} left"
    if failures is not None:
        line += f", {failures} failure{'' if failures == 1 else 's'}"
    return line


@dataclass
class Progress:
    """A progress line (:func:`progress_line`, and the memory in use) in the job's log when
    the first file is done, then at most once every ``every`` seconds, and at the last file:
    one clock read per file, nothing written between, so it costs nothing measurable."""

    what: str
    total: int
    every: float = PROGRESS_SECONDS
    started: float = field(default_factory=time.monotonic)
    last_report: float | None = None

    def tick(self, done: int, failures: int | None = None) -> None:
        now = time.monotonic()
        due = self.last_report is None or now - self.last_report >= self.every
        if due or done == self.total:
            line = progress_line(self.what, done, self.total, now - self.started, failures)
            log.info("%s, %.2f MB", line, rss_mb())
            self.last_report = now

    def follow(self, items: Iterable[T]) -> Iterator[T]:
        """Pass ``items`` through, ticking once per item."""
        for done, item in enumerate(items, start=1):
            yield item
            self.tick(done)
