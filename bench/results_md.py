"""results.md: the machine, the commit, and every table of a bench run."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.common import BENCH_DIR, MODEL, REPO
from bench.corpus import UNEVEN_SHARES, shares_label
from bench.report import (
    Report,
    fmt,
    md_table,
    runs_table,
    speedup_table,
    targets_table,
)
from bench.scale import ScaleResult
from bench.workflow import WorkflowRun


def size_label(run: WorkflowRun) -> str:
    """The N column: the size, and the splits when they are not the demo corpus's."""
    return f"{run.files}, splits {run.splits}" if run.splits else str(run.files)


def max_and_median(values: Sequence[float]) -> str:
    if not values:
        return "—"
    return f"{max(values):.1f} / {statistics.median(values):.1f}"


def memory_table(report: Report) -> str:
    headers = (
        "N",
        "chunk_size",
        "extraction jobs",
        "job: log Peak line (max / median)",
        "job: tsv max_rss (max / median)",
        "job: VmHWM (max / median)",
        "slowest job s",
        "aggregate: tsv max_rss / VmHWM",
        "snakemake itself: VmHWM",
    )
    rows = [
        (
            size_label(run),
            str(run.chunk_size),
            str(len(run.job_seconds)),
            max_and_median(run.job_log_peak_mb),
            max_and_median(run.job_tsv_rss_mb),
            max_and_median(run.job_hwm_mb),
            fmt(max(run.job_seconds, default=None), 2),
            f"{fmt(run.aggregate_tsv_rss_mb)} / {fmt(run.aggregate_hwm_mb)}",
            fmt(run.snakemake_hwm_mb),
        )
        for run in report.all_workflows()
    ]
    return "All figures in MB except the job seconds.\n\n" + md_table(headers, rows)


def phases_table(report: Report) -> str:
    names = (
        "start-up + DAG",
        "manifest, chunks, settings",
        "extraction",
        "aggregate",
        "report figures",
        "exit",
    )
    headers = ("N", "chunk_size", "wall s", *(f"{name} s" for name in names),
               "cores busy while extracting", "b wall s")  # fmt: skip
    rows = [
        (
            size_label(run),
            str(run.chunk_size),
            fmt(run.result.wall_s, 2),
            *(fmt(run.phases.get(name), 2) for name in names),
            "—" if run.extraction_busy is None else f"{100 * run.extraction_busy:.0f} %",
            fmt(report.plain[run.files].wall_s if run.files in report.plain else None, 2),
        )
        for run in report.all_workflows()
    ]
    return md_table(headers, rows)


def scale_table(scale: ScaleResult | None, chunk: int) -> str:
    if scale is None:
        return "Not measured in this run (`make bench BENCH_ARGS=--scale`)."
    steps = (
        ("`snakemake -n`, no manifest yet (scans the tree once)", scale.dry_run_cold),
        ("build_manifest + split_chunks + write_settings (real run)", scale.manifest_and_chunks),
        (
            f"`snakemake -n`, manifest and chunks known ({scale.planned_jobs} jobs planned, "
            f"chunk_size {chunk})",
            scale.dry_run_full,
        ),
    )
    rows = [(step, fmt(usage.wall_s, 2), fmt(usage.peak_rss_mb)) for step, usage in steps]
    return f"{scale.files:,} files (hard links).\n\n" + md_table(
        ("step", "wall s", "peak RSS MB"), rows
    )


def profile_section(profile: dict | None) -> str:
    if profile is None:
        return "Not measured in this run (`--profile-files 0`)."
    parts = []
    for key, title in (("ours", "fraudprep `extract_chunk`"), ("seed", "seed reference")):
        summary = profile[key]
        parts.append(
            f"**{title}**, {summary['files']} files after one warm-up file, "
            f"{summary['total_ms_per_file']:.2f} ms/file under cProfile (which adds its own "
            "cost per Python call).\n"
        )
        parts.append(
            md_table(
                ("stage (cumulative)", "ms/file"),
                [(name, fmt(ms, 2)) for name, ms in summary["stages"]],
            )
        )
        parts.append("")
        parts.append(
            md_table(
                ("function (self time)", "calls", "ms/file"),
                [(f"`{n}`", str(c), fmt(ms, 2)) for n, c, ms in summary["top"]],
            )
        )
        parts.append("")
    return "\n".join(parts)


def code_version() -> str:
    """The commit measured, and whether the workflow or library had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        changed = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src", "rules", "workflow",
             "Snakefile", "config.yaml", "profiles", "schemas"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    dirty = f", {len(changed)} uncommitted change(s) in the workflow/library" if changed else ""
    return f"commit {commit}{dirty}"


def machine_lines() -> list[str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        total_kb = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("numpy", "scipy", "soundfile", "soxr", "librosa", "snakemake", "matplotlib")
    )
    return [
        f"- CPU: {cpu}; {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        f"- RAM: {total_kb / 1024**2:.1f} GiB",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Code: {code_version()}",
    ]


def render_markdown(report: Report, path: Path) -> str:
    """results.md, to be written at ``path`` (links are relative to it; results.png is
    written beside it)."""
    times = "once" if report.repeat == 1 else f"the fastest of {report.repeat} runs"
    readme = BENCH_DIR / "README.md"  # absolute when results.md is written outside the repo
    if path.is_relative_to(REPO):
        readme = Path(os.path.relpath(readme, path.parent))
    return "\n".join(
        [
            "# fraudprep benchmark results",
            "",
            f"Written by `{report.command}` in {report.wall_s / 60:.1f} min. Every figure is as "
            f"measured on this machine ({times}, after waiting for other processes to go "
            f"quiet); how to read them: [README.md]({readme}).",
            "",
            "## Machine",
            "",
            *machine_lines(),
            f"- The bench's own process peaked at {fmt(report.bench_peak_mb)} MB (a floor for "
            "wait4's ru_maxrss of its children; the table uses each process's VmHWM instead)",
            "",
            "## Targets",
            "",
            targets_table(report),
            "",
            "## Speed-up per profile",
            "",
            "a = the seed-style librosa loop, b1 = fraudprep's `extract_chunk`, each one "
            "process alone on the same files: the mixed corpus's "
            f"{report.seed_files} evenly spaced files of N, and the input-format subsets. "
            "ms/file is time inside the loop (steady state); the last ratio counts each "
            "process's whole wall time, imports included.",
            "",
            speedup_table(report),
            "",
            "## Runs",
            "",
            f"a and b1 as above; b = `extract_chunk` (model `{MODEL}`) in two plain processes "
            "over the halves of the manifest, side by side (the workflow's baseline), c = the "
            "whole workflow (`snakemake --cores 2`, fresh working directory); c with "
            f'"uneven splits" runs on the same N links split {shares_label(UNEVEN_SHARES)} '
            "instead of the demo corpus's way.",
            "",
            runs_table(report),
            "",
            "## Memory per extraction job",
            "",
            memory_table(report),
            "",
            "## Where the workflow's wall time goes",
            "",
            "From each job's benchmark file (end time and duration). Cores busy = job time / "
            "(2 cores x extraction span): what load imbalance and job start-up leave idle. "
            "Start-up includes importing snakemake and its plugins, on its own "
            f"{' / '.join(fmt(s, 2) for s in report.snakemake_import_s)} s here "
            "(`python -c 'import snakemake.cli'`, before and after the runs).",
            "",
            phases_table(report),
            "",
            "## `snakemake -n` at scale",
            "",
            scale_table(report.scale, report.default_chunk),
            "",
            "## Where the time goes (cProfile)",
            "",
            profile_section(report.profile),
            "",
            "![throughput and memory](results.png)",
            "",
        ]
    )
