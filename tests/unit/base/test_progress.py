"""base/logs.py: a job's progress lines, at a bounded rate and at no measurable cost."""

from __future__ import annotations

import logging
import time

import pytest

from fraudprep.base import logs
from fraudprep.base.logs import Progress, progress_line, time_left


def test_the_line_says_file_rate_time_left_and_failures():
    assert progress_line("chunk-00003", 1200, 2000, 25.0, 2) == (
        "chunk-00003: file 1200 of 2000, 48.0 files/s, about 17 s left, 2 failures"
    )
    assert progress_line("chunk-00003", 10, 10, 2.0, 1).endswith("about 0 s left, 1 failure")
    assert progress_line("manifest", 0, 10, 0.0) == (
        "manifest: file 0 of 10, 0.0 files/s, unknown time left"
    )
    assert [time_left(s) for s in (5, 119.4, 600, 7200)] == [
        "about 5 s", "about 119 s", "about 10 min", "about 2.0 h",
    ]  # fmt: skip


def test_lines_come_first_then_at_most_every_interval_and_at_the_end(monkeypatch, caplog):
    now = [100.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    progress = Progress("chunk-00000", 10, every=2.0, started=now[0])
    with caplog.at_level(logging.INFO, logger=logs.__name__):
        for done in range(1, 11):
            now[0] += 0.5  # a file every half second: a line every 4 files
            progress.tick(done, failures=done // 5)
    lines = [record.getMessage().rsplit(", ", 1)[0] for record in caplog.records]
    assert lines == [
        "chunk-00000: file 1 of 10, 2.0 files/s, about 4 s left, 0 failures",
        "chunk-00000: file 5 of 10, 2.0 files/s, about 2 s left, 1 failure",
        "chunk-00000: file 9 of 10, 2.0 files/s, about 0 s left, 1 failure",
        "chunk-00000: file 10 of 10, 2.0 files/s, about 0 s left, 2 failures",
    ]
    assert all(record.getMessage().endswith(" MB") for record in caplog.records)


@pytest.mark.parametrize("files", [200_000])
def test_a_tick_costs_nothing_measurable(files: int, caplog):
    progress = Progress("chunk-00000", files, every=3600.0)
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger=logs.__name__):
        for done in range(1, files + 1):
            progress.tick(done, 0)
    per_tick = (time.perf_counter() - started) / files
    assert per_tick < 5e-6, f"{per_tick * 1e6:.2f} µs a file"  # a file takes milliseconds
    assert len(caplog.records) == 2  # the first file and the last
