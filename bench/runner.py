"""Running and measuring processes: wall and CPU time, peak RSS, and how busy the rest of the
machine was meanwhile."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bench.common import REPO, BenchError, child_env, say
from bench.memory import TreeMonitor

KIB_PER_MB = 1024.0  # ru_maxrss is in KiB on Linux


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, all processes)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.3) -> None:
    """Wait (at most ``max_wait_s``) until other processes use less than ``threshold_cores``:
    on a shared 2-core machine one busy neighbour halves a measurement. First write the
    previous run's batches out (``sync``): the kernel's write-back of gigabytes otherwise
    runs into the next measurement, and shows as no process's CPU (runs varied by 15 %)."""
    os.sync()
    deadline = time.monotonic() + max_wait_s
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        busy = busy_cpu_seconds() - before
        if busy < threshold_cores or time.monotonic() >= deadline:
            if busy >= threshold_cores:
                say(f"   machine still busy ({busy:.1f} cores used by others); measuring anyway")
            return
        say(f"   waiting for the machine to quieten ({busy:.1f} cores used by others)")
        time.sleep(4.0)


@dataclass
class Usage:
    """One finished process tree: wall seconds from launch, CPU seconds of the process and of
    every descendant it waited for (wait4), its peak RSS, and the CPU other processes on the
    machine used meanwhile (in cores)."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    log: Path
    launched_at: float = 0.0  # epoch seconds, to place the jobs' benchmark files in time
    other_load: float = 0.0
    tree: TreeMonitor | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON line a worker prints last, if any."""
        lines = [line for line in self.log.read_text().splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def start(
    command: list[str], log: Path, monitor: bool
) -> tuple[subprocess.Popen, TreeMonitor | None]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as handle:
        # A session of its own, so that a cleanup kill reaches snakemake's jobs too.
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO, env=child_env(),
            start_new_session=True,
        )  # fmt: skip
    tree = TreeMonitor(process.pid) if monitor else None
    if tree:
        tree.start()
    return process, tree


def run_measured(
    commands: Sequence[list[str]], logs: Sequence[Path], monitor: bool = False
) -> list[Usage]:
    """Start all commands at once, wait for each with wait4 to get its own rusage, and stop
    any still running if one fails or the bench is interrupted (no process left behind)."""
    running: dict[int, tuple[int, subprocess.Popen, TreeMonitor | None]] = {}
    results: list[Usage | None] = [None] * len(commands)
    busy_before, started, launched_at = busy_cpu_seconds(), time.perf_counter(), time.time()
    try:
        for index, (command, log) in enumerate(zip(commands, logs, strict=True)):
            process, tree = start(command, log, monitor)
            running[process.pid] = (index, process, tree)
        while running:
            pid, status, rusage = os.wait4(-1, 0)
            if pid not in running:
                continue
            index, process, tree = running.pop(pid)
            process.returncode = os.waitstatus_to_exitcode(status)
            if tree:
                tree.stopped.set()
                tree.join()
            if process.returncode != 0:
                raise BenchError(
                    f"{' '.join(commands[index][:4])} ... exited with {process.returncode}; "
                    f"see {logs[index]}"
                )
            results[index] = Usage(
                wall_s=time.perf_counter() - started,
                launched_at=launched_at,
                cpu_s=rusage.ru_utime + rusage.ru_stime,
                peak_rss_mb=rusage.ru_maxrss / KIB_PER_MB,
                log=logs[index],
                tree=tree,
            )
    finally:
        for _, process, tree in running.values():
            with contextlib.suppress(ProcessLookupError):  # it may have just exited
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            if tree:
                tree.stopped.set()
    usages = [usage for usage in results if usage is not None]
    wall = max(usage.wall_s for usage in usages)
    other = busy_cpu_seconds() - busy_before - sum(usage.cpu_s for usage in usages)
    for usage in usages:
        usage.other_load = max(0.0, other / wall)
    return usages


@dataclass
class Result:
    """One measured run, as a row of the results table."""

    name: str
    files: int
    processes: int
    usages: list[Usage]
    loop_s_per_process: list[float] = field(default_factory=list)
    own_peaks_mb: list[float] = field(default_factory=list)  # VmHWM the processes reported

    @classmethod
    def from_workers(cls, name: str, files: int, usages: list[Usage]) -> Result:
        """A run of worker processes that each print a summary (loop seconds, own peak)."""
        summaries = [usage.summary() for usage in usages]
        return cls(
            name, files, len(usages), usages,
            [summary["loop_s"] for summary in summaries],
            [summary["peak_rss_mb"] for summary in summaries],
        )  # fmt: skip

    @property
    def wall_s(self) -> float:
        return max(usage.wall_s for usage in self.usages)

    @property
    def cpu_s(self) -> float:
        return sum(usage.cpu_s for usage in self.usages)

    @property
    def peak_rss_mb(self) -> float:
        """The largest process: its own VmHWM when it reported one, else wait4's ru_maxrss."""
        if self.own_peaks_mb:
            return max(self.own_peaks_mb)
        return max(usage.peak_rss_mb for usage in self.usages)

    @property
    def other_load(self) -> float:
        return self.usages[0].other_load

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s

    @property
    def per_process_rate(self) -> float:
        """Files per second of one process: each process's files over its own wall time."""
        share = self.files / len(self.usages)
        return statistics.mean(share / usage.wall_s for usage in self.usages)

    @property
    def cpu_ms_per_file(self) -> float:
        return 1000 * self.cpu_s / self.files

    @property
    def loop_ms_per_file(self) -> float | None:
        """In-process time per file, without interpreter start-up and imports."""
        if not self.loop_s_per_process:
            return None
        return 1000 * sum(self.loop_s_per_process) / self.files


class Timed(Protocol):
    @property
    def wall_s(self) -> float: ...


T = TypeVar("T", bound=Timed)


def best_of(repeat: int, max_wait_s: float, measure: Callable[[], T]) -> T:
    """Run ``measure`` ``repeat`` times after waiting for a quiet machine; keep the fastest
    (noise from other processes only ever adds time)."""
    best: T | None = None
    for _ in range(repeat):
        wait_for_quiet(max_wait_s)
        result = measure()
        if best is None or result.wall_s < best.wall_s:
            best = result
    assert best is not None, "repeat must be at least 1"
    return best
