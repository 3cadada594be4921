"""Peak memory of Snakemake's jobs, three ways: VmHWM polled by the bench, the job logs'
``Peak memory usage`` lines, Snakemake's benchmark ``max_rss``."""

from __future__ import annotations

import csv
import os
import re
import threading
from pathlib import Path

from fraudprep.base.memory import vm_hwm_mb

# What fraudprep.extraction.extract logs at the end of each chunk job.
# fraudprep.report.report_plots has the
# same pattern, but importing it imports numpy and matplotlib into the bench's own process,
# whose RSS every child's ru_maxrss starts from (see corpus.demo_sources).
PEAK_LINE = re.compile(r"Peak memory usage: ([0-9.]+) MB")
JOB_ROLES = ("extract_features", "aggregate_batches", "build_manifest", "split_chunks")


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``, from every thread's /proc children list (no /proc scan)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                children.extend(int(child) for child in handle.read().split())
    except OSError:  # gone, or a thread ended between listdir and open
        pass
    return children


def job_role(pid: int) -> str:
    """Which rule a snakemake job process runs, from its script's name."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().decode(errors="replace")
    except OSError:
        return "other"
    for role in JOB_ROLES:
        if f".{role}.py" in command:
            return role
    return "other"


class TreeMonitor(threading.Thread):
    """Polls a process tree's VmHWM (each process's true peak so far) every ``interval`` s.

    Snakemake's benchmark files sample RSS too rarely to see a job that lasts a fraction of a
    second (the aggregate job), and the jobs' own ru_maxrss includes snakemake's RSS. Reads a
    few small /proc files per process per poll, to stay out of the measurement.
    """

    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.interval = root_pid, interval
        # (pid, role) -> peak MB. The role is read at every poll: a job's pid shows the
        # forking snakemake's command line and memory until it execs its script.
        self.peaks: dict[tuple[int, str], float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            pending = [self.root_pid]
            while pending:
                pid = pending.pop()
                pending.extend(child_pids(pid))
                self._sample(pid)

    def _sample(self, pid: int) -> None:
        role = "snakemake" if pid == self.root_pid else job_role(pid)
        peak = vm_hwm_mb(pid)
        if peak is not None:
            self.peaks[(pid, role)] = max(peak, self.peaks.get((pid, role), 0.0))

    def by_role(self, role: str) -> list[float]:
        return [peak for (_, name), peak in self.peaks.items() if name == role]


def read_tsv_column(path: Path, column: str) -> float | None:
    """The largest value of ``column`` in a Snakemake benchmark file, None if it has none."""
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    values = [float(row[column]) for row in rows if row.get(column) not in (None, "", "NA")]
    return max(values) if values else None


def tsv_column(tsvs: list[Path], column: str) -> list[float]:
    return [value for tsv in tsvs if (value := read_tsv_column(tsv, column)) is not None]


def job_log_peaks(log_dir: Path) -> list[float]:
    peaks = []
    for log in sorted(log_dir.glob("*.log")):
        found = PEAK_LINE.findall(log.read_text(errors="replace"))
        if found:
            peaks.append(float(found[-1]))  # the last run's line, if the job was retried
    return peaks
