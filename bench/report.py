"""The report: every measurement of a bench run, the figures derived from them, and the
targets table (issues 13 and 14), as printed and as written into results.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bench.common import CORES, MODEL, say
from bench.models import ModelsRun
from bench.properties_cost import PropertiesCost
from bench.runner import Result, best_of
from bench.scale import ScaleResult
from bench.workflow import WorkflowRun

TARGET_SPEEDUP = 3.0
TARGET_OVERHEAD = 0.10
TARGET_JOB_RSS_MB = 150.0
TARGET_END_TO_END = 5.0  # snakemake --cores 2 over N files vs the seed in one process
TARGET_END_TO_END_LARGE = 6.0  # the same at 20,000 files and more
TARGET_IDEAL_RATIO = 1.25  # snakemake wall / (N x b1 in-loop ms / 2 cores)
TARGET_IDEAL_RATIO_LARGE = 1.10  # the same at 20,000 files and more
TARGET_ALL_MODELS = 0.7  # the four-model run / the sum of the four one-model runs
TARGET_PROPERTIES_COST = 5.0  # %: the shortcut check's properties, on against off (issue 15)
LARGE_FILES = 20_000  # from here on the end-to-end targets are the large ones

Measured = TypeVar("Measured", Result, WorkflowRun)


@dataclass
class Report:
    files: int
    default_chunk: int
    seed_files: int
    results: list[Result] = field(default_factory=list)
    workflows: dict[tuple[int, int], WorkflowRun] = field(default_factory=dict)
    # N -> c at the default chunk size on the same N links split 70/15/15 (issue 13)
    uneven: dict[int, WorkflowRun] = field(default_factory=dict)
    plain: dict[int, Result] = field(default_factory=dict)
    # (model, file set) -> (a, b1) on the same files, one process each
    speedups: dict[tuple[str, str], tuple[Result, Result]] = field(default_factory=dict)
    seed_main: Result | None = None
    profile: dict | None = None
    scale: ScaleResult | None = None
    wall_s: float = 0.0
    command: str = ""
    repeat: int = 1
    max_wait_s: float = 120.0
    bench_peak_mb: float | None = None
    snakemake_import_s: list[float] = field(default_factory=list)
    models: ModelsRun | None = None
    properties_cost: PropertiesCost | None = None

    def record(self, measure: Callable[[], Measured]) -> Measured:
        """Measure (best of ``--repeat`` on a quiet machine), add the row and say how it went."""
        outcome = best_of(self.repeat, self.max_wait_s, measure)
        result = outcome.result if isinstance(outcome, WorkflowRun) else outcome
        self.results.append(result)
        say(
            f"   {result.wall_s:.2f} s, {result.files_per_s:.1f} files/s, peak RSS "
            f"{result.peak_rss_mb:.1f} MB, others used {result.other_load:.2f} cores meanwhile"
        )
        return outcome

    def all_workflows(self) -> list[WorkflowRun]:
        """Every c run, by size and chunk size, each main-corpus run before its uneven twin."""
        runs = [*self.workflows.values(), *self.uneven.values()]
        return sorted(runs, key=lambda run: (run.files, run.chunk_size, bool(run.splits)))


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def status(met: bool) -> str:
    return "met" if met else "**missed**"


def runs_table(report: Report) -> str:
    headers = (
        "run",
        "files",
        "procs",
        "wall s",
        "files/s",
        "files/s per proc",
        "CPU ms/file",
        "in-loop ms/file",
        "peak RSS MB",
        "other load (cores)",
    )
    rows = [
        (
            result.name,
            str(result.files),
            str(result.processes),
            fmt(result.wall_s, 2),
            fmt(result.files_per_s),
            fmt(result.per_process_rate) if result.processes == len(result.usages) else "—",
            fmt(result.cpu_ms_per_file, 2),
            fmt(result.loop_ms_per_file, 2),
            fmt(result.peak_rss_mb),
            fmt(result.other_load, 2),
        )
        for result in report.results
    ]
    return md_table(headers, rows)


def overhead(report: Report, files: int, chunk: int) -> float | None:
    run, plain = report.workflows.get((files, chunk)), report.plain.get(files)
    if run is None or plain is None:
        return None
    return (run.result.wall_s - plain.wall_s) / plain.wall_s


def speedup(seed: Result, ours: Result) -> float:
    """Steady-state ratio: seed's in-loop ms per file over ours (start-up excluded)."""
    return seed.loop_ms_per_file / ours.loop_ms_per_file


def speedup_with_startup(seed: Result, ours: Result) -> float:
    """files/s ratio over each process's whole wall time, imports and start-up included."""
    return ours.per_process_rate / seed.per_process_rate


def speedup_table(report: Report) -> str:
    headers = ("profile", "files", "n", "a seed ms/file", "b1 ours ms/file",
               "speed-up (in loop)", "speed-up incl. start-up", "target ≥ 3x")  # fmt: skip
    rows = [
        [model, file_set, str(ours.files), fmt(seed.loop_ms_per_file, 2),
         fmt(ours.loop_ms_per_file, 2), f"{speedup(seed, ours):.2f}x",
         f"{speedup_with_startup(seed, ours):.2f}x",
         status(speedup(seed, ours) >= TARGET_SPEEDUP)]
        for (model, file_set), (seed, ours) in report.speedups.items()
    ]  # fmt: skip
    return md_table(headers, rows)


def targets_table(report: Report) -> str:
    rows = []
    for file_set in dict.fromkeys(file_set for _, file_set in report.speedups):
        pairs = [pair for (_, name), pair in report.speedups.items() if name == file_set]
        worst = min(speedup(seed, ours) for seed, ours in pairs)
        rows.append(
            (
                f"speed-up vs seed, {file_set} inputs, slowest of {len(pairs)} profiles "
                "(a / b1 in-loop ms per file, one process each)",
                f"{worst:.2f}x",
                f"≥ {TARGET_SPEEDUP:.0f}x",
                status(worst >= TARGET_SPEEDUP),
            )
        )
    for files, chunk in sorted(report.workflows):
        value = overhead(report, files, chunk)
        if value is not None:
            rows.append(
                (
                    f"workflow overhead, N={files}, chunk_size {chunk} ((c - b) / b)",
                    f"{100 * value:+.1f} %",
                    f"≤ {100 * TARGET_OVERHEAD:.0f} %",
                    status(value <= TARGET_OVERHEAD),
                )
            )
    rows.extend(end_to_end_rows(report))
    cost = report.properties_cost
    if cost is not None:
        low, high = cost.middle_half
        rows.append(
            (
                f"shortcut properties' cost, {cost.models}, median of {len(cost.shares)} paired "
                f"rounds of {cost.files_per_run} files (bench/properties_cost.py)",
                f"{cost.median_share:+.1f} % (middle half {low:+.1f} to {high:+.1f} %)",
                f"≤ {TARGET_PROPERTIES_COST:.0f} %",
                status(cost.median_share <= TARGET_PROPERTIES_COST),
            )
        )
    runs = report.all_workflows()
    sources = (
        ("job logs' Peak memory usage", [p for run in runs for p in run.job_log_peak_mb]),
        ("snakemake benchmark max_rss", [p for run in runs for p in run.job_tsv_rss_mb]),
        ("VmHWM polled by the bench", [p for run in runs for p in run.job_hwm_mb]),
    )
    for source, peaks in sources:
        if peaks:
            rows.append(
                (
                    f"peak RSS per extraction job, largest of all runs ({source})",
                    f"{max(peaks):.1f} MB",
                    f"≤ {TARGET_JOB_RSS_MB:.0f} MB",
                    status(max(peaks) <= TARGET_JOB_RSS_MB),
                )
            )
    return md_table(("figure", "measured", "target", "status"), rows)


def end_to_end_rows(report: Report) -> list[tuple[str, str, str, str]]:
    """The whole workflow against the seed and against its own floor, and the four models in
    one run against four runs."""
    rows = []
    pair = report.speedups.get((MODEL, f"mixed (N={report.files})"))
    if pair and pair[0].loop_ms_per_file and pair[1].loop_ms_per_file:
        # Every size measured at the default chunk size, against a and b1's per-file cost
        # (a's files are evenly spaced over the main corpus, whose files every size repeats;
        # the uneven corpus links the same files, only into other split folders).
        for run in report.all_workflows():
            if run.chunk_size == report.default_chunk:
                rows.extend(_end_to_end(run, pair))
    models = report.models
    if models:
        rows.append((
            f"four models in one run / sum of four one-model runs, N={models.files}",
            f"{models.ratio:.2f} ({models.all_models_s:.1f} s / "
            f"{sum(models.one_model_s.values()):.1f} s)",
            f"≤ {TARGET_ALL_MODELS}", status(models.ratio <= TARGET_ALL_MODELS),
        ))  # fmt: skip
        same = sum(models.identical.values())
        rows.append((
            "four-model run's outputs byte-identical to the one-model runs'",
            f"{same} of {len(models.identical)} models",
            "all", status(same == len(models.identical)),
        ))  # fmt: skip
    return rows


def _end_to_end(run: WorkflowRun, pair: tuple[Result, Result]) -> list[tuple[str, str, str, str]]:
    """c against a (scaled to its N) and against its floor: N x b1's in-loop ms per file,
    spread on the cores; a corpus split otherwise than the demo's says so in both rows."""
    files, wall_s = run.files, run.result.wall_s
    seed_s = pair[0].wall_s * files / pair[0].files  # a, scaled to all N files
    ratio = seed_s / wall_s
    target = TARGET_END_TO_END if files < LARGE_FILES else TARGET_END_TO_END_LARGE
    ideal_s = files * pair[1].loop_ms_per_file / 1000 / CORES
    ideal = wall_s / ideal_s
    ideal_target = TARGET_IDEAL_RATIO if files < LARGE_FILES else TARGET_IDEAL_RATIO_LARGE
    splits = f", uneven splits {run.splits}" if run.splits else ""
    return [
        (
            f"end to end: seed pipeline (a, one process, scaled to N={files}) / "
            f"snakemake --cores {CORES} (c, {MODEL}){splits}",
            f"{ratio:.2f}x ({seed_s:.1f} s / {wall_s:.1f} s)",
            f"≥ {target:.0f}x", status(ratio >= target),
        ),
        (
            f"end to end: snakemake wall / (N x b1 in-loop ms / {CORES} cores), N={files}{splits}",
            f"{ideal:.2f} ({wall_s:.1f} s / {ideal_s:.1f} s)",
            f"≤ {ideal_target:.2f}", status(ideal <= ideal_target),
        ),
    ]  # fmt: skip
