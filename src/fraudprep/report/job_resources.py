"""The extraction jobs' runtime and peak memory: read from Snakemake's benchmark files and
the jobs' logs, drawn as one figure of the report (``snakemake --report``)."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraudprep.inputs.chunks import read_chunks
from fraudprep.report.kit import message, new_figure, save_png, styled

PEAK_MEMORY = re.compile(r"Peak memory usage: ([0-9.]+) MB")


@dataclass(frozen=True)
class JobResources:
    """One extraction job: its wall time and memory as measured two ways."""

    chunk: str
    seconds: float
    max_rss_mb: float
    peak_mb: float


def _float(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "NA", "-") else math.nan
    except ValueError:
        return math.nan


def read_benchmark(path: str | Path) -> dict[str, float]:
    """A Snakemake benchmark TSV (s, h:m:s, max_rss, ...): the first (or only) repeat.

    NaN for a file that is missing or empty (a job run before benchmarks were kept).
    """
    rows = []
    if Path(path).exists():
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        return {"s": math.nan, "max_rss": math.nan}
    return {key: _float(rows[0].get(key)) for key in ("s", "max_rss")}


def read_peak_memory(path: str | Path) -> float:
    """The last ``Peak memory usage: X MB`` of a job log (a retried job appends), else NaN."""
    if not Path(path).exists():
        return math.nan
    peaks = PEAK_MEMORY.findall(Path(path).read_text(encoding="utf-8", errors="replace"))
    return float(peaks[-1]) if peaks else math.nan


def read_job_resources(
    benchmarks: Sequence[str | Path], logs: Sequence[str | Path] = ()
) -> list[JobResources]:
    """One row per benchmark file, named by its stem (the chunk), logs matched by stem."""
    peak_by_chunk = {Path(log).stem: read_peak_memory(log) for log in logs}
    rows = []
    for bench in benchmarks:
        values = read_benchmark(bench)
        chunk = Path(bench).stem
        rows.append(
            JobResources(chunk, values["s"], values["max_rss"], peak_by_chunk.get(chunk, math.nan))
        )
    return rows


@styled
def plot_job_resources(
    jobs: Sequence[JobResources], path: str | Path, title: str = "extraction jobs"
) -> Path:
    """Runtime and peak memory per extraction job, in chunk order."""
    figure = new_figure(10.0, 6.5)
    top, bottom = figure.subplots(2, 1, sharex=True)
    if not jobs:
        message(top, "no extraction jobs recorded")
        bottom.set_visible(False)
        figure.suptitle(title)
        return save_png(figure, path)
    x = np.arange(len(jobs))
    seconds = np.array([job.seconds for job in jobs])
    top.bar(x, np.nan_to_num(seconds), 0.7, color="#5e3c99")
    total = float(np.nansum(seconds))
    top.set_ylabel("wall time (s)")
    top.set_title(f"runtime per job (benchmark 's'; {len(jobs)} jobs, {total:.1f} s in all)")
    peak = np.array([job.peak_mb for job in jobs])
    rss = np.array([job.max_rss_mb for job in jobs])
    if np.isfinite(peak).any():
        bottom.bar(
            x, np.nan_to_num(peak), 0.7, color="#e66101", label="peak RSS from the job log (exact)"
        )
    if np.isfinite(rss).any():
        bottom.plot(
            x,
            rss,
            "o",
            color="black",
            markersize=3,
            label="benchmark max_rss (sampled; ~0 for short jobs)",
        )
    bottom.set_ylabel("memory (MB)")
    most = np.nanmax(np.concatenate([peak, rss])) if np.isfinite([*peak, *rss]).any() else 0
    bottom.set_title(f"peak memory per job (highest {most:.0f} MB)")
    if most > 0:
        bottom.set_ylim(0, most * 1.35)  # room for the legend above the bars
    bottom.legend(loc="upper right", ncols=2, fontsize=8, frameon=False)
    step = max(1, math.ceil(len(jobs) / 40))
    bottom.set_xticks(
        x[::step], [job.chunk for job in jobs][::step], rotation=60, ha="right", fontsize=7
    )
    bottom.set_xlabel("chunk")
    figure.suptitle(title)
    return save_png(figure, path)


def resources_report(
    chunks_path: str | Path,
    benchmark_pattern: str,
    log_pattern: str,
    path: str | Path,
) -> Path:
    """The runtime and memory figure of the run's extraction jobs, from the Snakemake
    benchmark file and log of each chunk's job (paths with ``{chunk}`` to fill in)."""
    chunk_ids = [chunk.id for chunk in read_chunks(chunks_path)]
    jobs = read_job_resources(
        [benchmark_pattern.format(chunk=c) for c in chunk_ids],
        [log_pattern.format(chunk=c) for c in chunk_ids],
    )
    return plot_job_resources(jobs, path, "extraction jobs (every model)")
