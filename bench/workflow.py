"""End-to-end runs: the whole workflow, ``snakemake --cores 2``, in a fresh working directory,
with where its wall time went and what its jobs' logs and benchmark files say."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_ROOT, CORES, MODEL, REPO, say
from bench.memory import job_log_peaks, read_tsv_column, tsv_column
from bench.runner import Result, Usage, run_measured

# Everything a run writes is under its output_dir; the workflow's default.
OUTPUT_DIR = Path("data") / "preprocessed"


@dataclass
class WorkflowRun:
    """c: one snakemake run, with what its jobs' logs and benchmark files say."""

    files: int
    chunk_size: int
    result: Result
    job_log_peak_mb: list[float]  # "Peak memory usage" lines (ru_maxrss, see README)
    job_tsv_rss_mb: list[float]  # snakemake benchmark max_rss (sampled)
    job_hwm_mb: list[float]  # VmHWM polled by the bench
    job_seconds: list[float]
    aggregate_tsv_rss_mb: float | None
    aggregate_hwm_mb: float | None
    snakemake_hwm_mb: float | None
    phases: dict[str, float] = field(default_factory=dict)
    extraction_busy: float | None = None  # share of 2 cores x extraction span spent in jobs
    splits: str = ""  # how the corpus is split, when not the demo corpus's own way

    @property
    def wall_s(self) -> float:
        return self.result.wall_s


@dataclass(frozen=True)
class JobSpan:
    rule: str
    start: float  # epoch seconds
    end: float


def job_spans(benchmarks_dir: Path) -> list[JobSpan]:
    """Each job's start and end: its benchmark file is written as it ends and holds its
    duration."""
    spans = []
    for tsv in benchmarks_dir.rglob("*.tsv"):
        seconds = read_tsv_column(tsv, "s")
        if seconds is not None:
            rule = tsv.relative_to(benchmarks_dir).parts[0].removesuffix(".tsv")
            end = tsv.stat().st_mtime
            spans.append(JobSpan(rule, end - seconds, end))
    return spans


def workflow_phases(spans: list[JobSpan], usage: Usage) -> tuple[dict[str, float], float | None]:
    """Where c's wall time goes, and how busy the two cores were while extracting."""
    extract = [span for span in spans if span.rule == "extract_features"]
    if not extract:
        return {}, None
    first = min(span.start for span in spans)
    extract_start = min(span.start for span in extract)
    extract_end = max(span.end for span in extract)
    aggregated = max(
        (span.end for span in spans if span.rule == "aggregate_batches"), default=extract_end
    )
    last = max(span.end for span in spans)
    phases = {
        "start-up + DAG": first - usage.launched_at,
        "manifest, chunks, settings": extract_start - first,
        "extraction": extract_end - extract_start,
        "aggregate": aggregated - extract_end,
        "report figures": last - aggregated,  # plot_* rules, when report_figures is on
        "exit": usage.launched_at + usage.wall_s - last,
    }
    busy = sum(span.end - span.start for span in extract) / (CORES * (extract_end - extract_start))
    return phases, busy


def snakemake_command(
    workdir: Path, corpus: Path, chunk_size: int, *extra: str, models: Sequence[str] = (MODEL,)
) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--configfile", str(REPO / "config.yaml"),
        "--workflow-profile", str(REPO / "profiles" / "default"),
        "--directory", str(workdir), "--cores", str(CORES), *extra,
        "--config", f"input_dir={corpus}", f"models=[{','.join(models)}]",
        f"chunk_size={chunk_size}",
    ]  # fmt: skip


def fresh_workdir(name: str) -> Path:
    """An empty working directory under data/bench/runs: nothing to reuse, nothing to resume."""
    workdir = BENCH_ROOT / "runs" / name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return workdir


def delete_batches(out: Path) -> None:
    """The batches (0.6 MB per file) are not needed once measured; logs and benchmarks stay."""
    for model_dir in out.glob("*/"):
        if model_dir.name not in ("logs", "benchmarks"):
            shutil.rmtree(model_dir, ignore_errors=True)


def run_workflow(
    corpus: Path, files: int, chunk_size: int, label: str, splits: str = ""
) -> WorkflowRun:
    """c on ``corpus``; ``splits`` names a corpus not split the demo corpus's way, and keeps
    its working directory apart from the main corpus's."""
    suffix = "-uneven" if splits else ""
    workdir = fresh_workdir(f"workflow-N{files}-chunk{chunk_size}{suffix}")
    say(f"c  snakemake --cores {CORES}, chunk_size {chunk_size}, {label}")
    [usage] = run_measured(
        [snakemake_command(workdir, corpus, chunk_size)], [workdir / "snakemake.log"], True
    )
    out = workdir / OUTPUT_DIR  # logs and Snakemake benchmarks live in it
    benchmarks = out / "benchmarks" / "extract_features"  # one job a chunk, every model
    tsvs = sorted(benchmarks.glob("*.tsv"))
    tree = usage.tree
    assert tree is not None
    run = WorkflowRun(
        files=files,
        chunk_size=chunk_size,
        result=Result(f"c snakemake, chunk_size {chunk_size}, {label}", files, CORES, [usage]),
        job_log_peak_mb=job_log_peaks(out / "logs" / "extract_features"),
        job_tsv_rss_mb=tsv_column(tsvs, "max_rss"),
        job_hwm_mb=tree.by_role("extract_features"),
        job_seconds=tsv_column(tsvs, "s"),
        aggregate_tsv_rss_mb=read_tsv_column(
            out / "benchmarks" / "aggregate_batches" / f"{MODEL}.tsv", "max_rss"
        ),
        aggregate_hwm_mb=max(tree.by_role("aggregate_batches"), default=None),
        snakemake_hwm_mb=max(tree.by_role("snakemake"), default=None),
        splits=splits,
    )
    run.phases, run.extraction_busy = workflow_phases(job_spans(out / "benchmarks"), usage)
    delete_batches(out)
    return run


def time_snakemake_import() -> float:
    """Importing snakemake discovers its plugins; some probe the system (the slurm executor
    plugin runs `scontrol show config`, 10 s timeout). Every workflow run pays this."""
    log = BENCH_ROOT / "runs" / "snakemake-import.log"
    [usage] = run_measured([[sys.executable, "-c", "import snakemake.cli"]], [log])
    say(f"importing snakemake takes {usage.wall_s:.2f} s")
    return usage.wall_s
