"""results.png: throughput and peak RSS against N (or per run, when one size was measured)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import MODEL
from bench.report import TARGET_JOB_RSS_MB, Report


def plot(report: Report, path: Path) -> None:
    """Write results.png at ``path``. matplotlib is imported only now, at the end: it would
    make the bench's own process large, and every child's ru_maxrss starts from that."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    sizes = sorted({files for files, chunk in report.workflows if chunk == report.default_chunk})
    sizes = [files for files in sizes if files in report.plain]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    if len(sizes) >= 2:
        _plot_vs_size(report, sizes, left, right)
    else:
        _plot_bars(report, left, right)
    figure.suptitle(f"fraudprep bench ({MODEL}); {datetime.now(UTC):%Y-%m-%d}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_vs_size(report: Report, sizes: list[int], left: Any, right: Any) -> None:
    chunk = report.default_chunk
    runs = [report.workflows[(files, chunk)] for files in sizes]
    left.plot(
        sizes, [report.plain[f].files_per_s for f in sizes], "o-", label="b plain, 2 processes"
    )
    left.plot(
        sizes,
        [run.result.files_per_s for run in runs],
        "s-",
        label=f"c snakemake --cores 2, chunk_size {chunk}",
    )
    if report.seed_main:
        left.axhline(report.seed_main.files_per_s, color="grey", ls=":", label="a seed, 1 process")
    left.set(xscale="log", xlabel="files (N)", ylabel="files/s", title="Throughput")
    left.set_ylim(bottom=0)
    left.legend()
    right.plot(sizes, [max(run.job_hwm_mb) for run in runs], "D-", label="extraction job (VmHWM)")
    right.plot(
        sizes,
        [max(run.job_log_peak_mb) for run in runs],
        "o:",
        label="extraction job (its log's Peak line)",
    )
    right.plot(
        sizes,
        [max(run.job_tsv_rss_mb) for run in runs],
        "s--",
        label="extraction job (benchmark max_rss)",
    )
    right.plot(sizes, [report.plain[f].peak_rss_mb for f in sizes], "^-", label="b plain process")
    right.axhline(TARGET_JOB_RSS_MB, color="red", ls=":", label="target per job")
    right.set(xscale="log", xlabel="files (N)", ylabel="MB", title="Peak RSS (largest)")
    right.set_ylim(bottom=0)
    right.legend()


def _plot_bars(report: Report, left: Any, right: Any) -> None:
    names = [
        result.name.split(",")[0] + "\n" + ",".join(result.name.split(",")[1:])
        for result in report.results
    ]
    left.barh(names, [result.files_per_s for result in report.results])
    left.set(xlabel="files/s", title="Throughput")
    right.barh(names, [result.peak_rss_mb for result in report.results])
    right.axvline(TARGET_JOB_RSS_MB, color="red", ls=":", label="target per job")
    right.set(xlabel="MB (largest process)", title="Peak RSS")
    right.legend()
    for axis in (left, right):
        axis.invert_yaxis()
        axis.tick_params(axis="y", labelsize=7)
