"""Issue 27: ``fraudprep plan`` on a 100,000-file tree answers in seconds, as figures.

Builds Fake-or-Real trees of zero-byte ``.wav`` files in a temporary folder (the folder reader
only looks at each file's name and ``stat``, never its bytes: see fraudprep.cli.inventory),
optionally a CSV listing of the largest tree, and runs ``fraudprep plan --config
input_dir=<tree> output_dir=<tmp>`` on each as a fresh process, as a user runs it, from the
checkout (the plan needs the Snakefile in its working directory). Wall seconds are the median
of ``--runs`` runs; peak RSS the largest of them.

Usage: ``.venv/bin/python -m bench.plan_scale [--sizes 10000,100000] [--listing-files 100000]
[--runs 3]`` (only prints, markdown); ``make bench`` runs it too (``--plan-…`` options) and adds
its table to results.md. About 1 minute on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BENCH_ROOT, CORES, BenchError, say
from bench.report import fmt, md_table, status
from bench.runner import Usage, run_measured, wait_for_quiet
from fraudprep.base.memory import peak_rss_mb

TARGET_FILES = 100_000
TARGET_S = 10.0  # issue 27: "answers in seconds"; at TARGET_FILES, on CORES cores
# Files i % 20 < 14 are training, < 17 validation, the rest testing (70/15/15, as real data
# sets are split); even i real, odd i fake.
SPLIT_SHARES = (("training", 14), ("validation", 3), ("testing", 3))
LABELS = ("real", "fake")
LOG_DIR = BENCH_ROOT / "runs" / "plan-scale"


def layout(index: int) -> tuple[str, str]:
    """(split, label) of file ``index`` in the bench's trees."""
    slot = index % sum(share for _, share in SPLIT_SHARES)
    for split, share in SPLIT_SHARES:
        if slot < share:
            return split, LABELS[index % 2]
        slot -= share
    raise AssertionError("unreachable")


def relative_path(index: int) -> str:
    split, label = layout(index)
    return f"{split}/{label}/f{index:06d}.wav"


def build_tree(root: Path, files: int) -> None:
    """``files`` zero-byte audio-named files in the FoR layout below ``root``; deterministic."""
    for split, _ in SPLIT_SHARES:
        for label in LABELS:
            (root / split / label).mkdir(parents=True, exist_ok=True)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    for index in range(files):
        os.close(os.open(root / relative_path(index), flags, 0o644))


def write_listing(path: Path, files: int) -> None:
    """A CSV listing (path,split,label) of the tree beside it; paths relative to the listing."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("path,split,label\n")
        for index in range(files):
            split, label = layout(index)
            handle.write(f"{relative_path(index)},{split},{label}\n")


@dataclass
class PlanRun:
    """The repeated runs of ``fraudprep plan`` on one input."""

    source: str  # "FoR tree" or "CSV listing"
    files: int
    usages: list[Usage] = field(default_factory=list)
    vm_hwm_mb: list[float] = field(default_factory=list)  # each run's VmHWM, polled

    @property
    def wall_s(self) -> float:
        return statistics.median(usage.wall_s for usage in self.usages)

    @property
    def cpu_s(self) -> float:
        return statistics.median(usage.cpu_s for usage in self.usages)

    @property
    def peak_rss_mb(self) -> float:
        """wait4's ru_maxrss, the largest run: exact unless the bench's own RSS was larger
        (a child's ru_maxrss starts from its parent's at exec)."""
        return max(usage.peak_rss_mb for usage in self.usages)

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s

    @property
    def other_load(self) -> float:
        return max(usage.other_load for usage in self.usages)

    @property
    def targeted(self) -> bool:
        return self.source == "FoR tree" and self.files == TARGET_FILES


@dataclass
class PlanReport:
    runs: list[PlanRun] = field(default_factory=list)
    repeats: int = 3
    build_s: dict[str, float] = field(default_factory=dict)  # what was built -> seconds
    bench_peak_mb: float | None = None
    command: str = ""


def plan_command() -> list[str]:
    """The venv's ``fraudprep`` script, as a user types it (the module when there is none)."""
    script = Path(sys.executable).with_name("fraudprep")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "fraudprep.cli"]


def measure_plan(source: str, files: int, config: Sequence[str], repeats: int, tag: str) -> PlanRun:
    run = PlanRun(source, files)
    command = [*plan_command(), "plan", "--config", *config]
    for attempt in range(repeats):
        wait_for_quiet(30.0)
        log = LOG_DIR / f"{tag}-{attempt + 1}.log"
        [usage] = run_measured([command], [log], monitor=True)
        run.usages.append(usage)
        if usage.tree is not None and usage.tree.peaks:
            run.vm_hwm_mb.append(max(usage.tree.peaks.values()))
        say(f"   {usage.wall_s:.2f} s, ru_maxrss {usage.peak_rss_mb:.1f} MB")
    return run


def measure(sizes: Sequence[int], listing_files: int, repeats: int) -> PlanReport:
    report = PlanReport(repeats=repeats)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fraudprep-plan-") as temp:
        base = Path(temp)
        output_dir = base / "out"  # never made: the plan writes nothing
        for files in sorted({*sizes, *([listing_files] if listing_files else [])}):
            tree = base / f"N{files}"
            say(f"plan scale: building a FoR tree of {files:,} zero-byte files in {tree}")
            began = time.perf_counter()
            build_tree(tree, files)
            report.build_s[f"tree of {files:,}"] = time.perf_counter() - began
            config = [f"input_dir={tree}", f"output_dir={output_dir}"]
            if files in sizes:
                say(f"plan scale: fraudprep plan on the tree, {repeats} fresh processes")
                report.runs.append(measure_plan("FoR tree", files, config, repeats, f"N{files}"))
            if files == listing_files:
                listing = tree / "listing.csv"
                write_listing(listing, files)
                config = ["dataset=csv", f"listing={listing}", f"output_dir={output_dir}"]
                say(f"plan scale: fraudprep plan on a {files:,}-row CSV listing of it")
                run = measure_plan("CSV listing", files, config, repeats, f"N{files}-csv")
                report.runs.append(run)
            shutil.rmtree(tree)
        if output_dir.exists():
            raise BenchError(f"fraudprep plan made {output_dir}: it must write nothing")
    report.bench_peak_mb = peak_rss_mb()
    return report


def runs_table(report: PlanReport) -> str:
    headers = ("input", "files", f"wall s (median of {report.repeats})", "files/s",
               "CPU s", "peak RSS MB (ru_maxrss)", "VmHWM MB (polled)",
               "other load (cores)")  # fmt: skip
    rows = [
        (
            f"`fraudprep plan`, {run.source}",
            f"{run.files:,}",
            fmt(run.wall_s, 2),
            f"{run.files_per_s:,.0f}",
            fmt(run.cpu_s, 2),
            fmt(run.peak_rss_mb),
            fmt(max(run.vm_hwm_mb, default=None)),
            fmt(run.other_load, 2),
        )
        for run in report.runs
    ]
    return md_table(headers, rows)


def target_rows(report: PlanReport) -> list[tuple[str, str, str, str]]:
    cores = len(os.sched_getaffinity(0))
    where = f"{cores} cores" + ("" if cores == CORES else f", not the target's {CORES}")
    return [
        (
            f"`fraudprep plan` on a {run.files:,}-file FoR tree, fresh process (issue 27; "
            f"median of {report.repeats}, {where})",
            f"{run.wall_s:.2f} s",
            f"≤ {TARGET_S:.0f} s on {CORES} cores",
            status(run.wall_s <= TARGET_S),
        )
        for run in report.runs
        if run.targeted
    ]


def markdown(report: PlanReport, level: str = "##") -> str:
    """The targets row and the runs table: printed, and appended to results.md by make bench."""
    built = ", ".join(f"{name} in {seconds:.1f} s" for name, seconds in report.build_s.items())
    return "\n".join([
        f"{level} `fraudprep plan` at scale (issue 27)",
        "",
        f"Written by `{report.command}`. Zero-byte `.wav` files in the FoR layout (70/15/15, "
        "real/fake alternating) in a temporary folder, just built, so the inodes are in the "
        "kernel's cache: the folder reader only stats them; a cold disk adds its seek time. "
        f"Each run a fresh `fraudprep plan --config input_dir=… output_dir=…` process ({built}); "
        "files/s = files / wall, start-up and imports included. "
        f"The bench's own process peaked at {fmt(report.bench_peak_mb)} MB (a floor for "
        "ru_maxrss).",
        "",
        md_table(("figure", "measured", "target", "status"), rows)
        if (rows := target_rows(report))
        else f"No {TARGET_FILES:,}-file tree in this run: no target to compare with.",
        "",
        runs_table(report),
    ])  # fmt: skip


def parse_sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The options, also under make bench's ``--plan-…`` names (``prefix='plan-'``)."""
    p = f"--{prefix}"
    parser.add_argument(f"{p}sizes", default=f"10000,{TARGET_FILES}",
                        help="FoR tree sizes ('' for none)")  # fmt: skip
    parser.add_argument(f"{p}listing-files", type=int, default=TARGET_FILES,
                        help="rows of the CSV listing run (0 to skip it)")  # fmt: skip
    parser.add_argument(f"{p}runs", type=int, default=3, help="fresh processes per input")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_scale",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        report = measure(parse_sizes(args.sizes), args.listing_files, args.runs)
    except BenchError as error:
        say(f"failed: {error}")
        return 1
    report.command = " ".join(["python -m bench.plan_scale", *argv])
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
