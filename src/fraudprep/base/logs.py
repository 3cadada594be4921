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
PROGRESS_SECONDS = 10.0
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


@dataclass
class Progress:
    """Progress lines every few seconds: files done / total and files per second."""

    what: str
    total: int
    started: float = field(default_factory=time.monotonic)
    last_report: float = field(default_factory=time.monotonic)

    def tick(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last_report >= PROGRESS_SECONDS or done == self.total:
            rate = done / max(now - self.started, 1e-9)
            log.info(
                "%s: %d/%d files (%.0f%%), %.1f files/s, %.2f MB",
                self.what,
                done,
                self.total,
                100 * done / max(self.total, 1),
                rate,
                rss_mb(),
            )
            self.last_report = now

    def follow(self, items: Iterable[T]) -> Iterator[T]:
        """Pass ``items`` through, ticking once per item."""
        for done, item in enumerate(items, start=1):
            yield item
            self.tick(done)
