"""`make bench`: throughput and memory of fraudprep against the seed, as figures (not a test).

`python -m bench` builds or reuses a corpus of N hard links to the demo corpus, measures
  a. the seed-style librosa pipeline (bench/seed_reference.py), one process;
  b. fraudprep's ``extract_chunk`` as two plain processes over the two halves of the manifest;
  c. the whole workflow, ``snakemake --cores 2`` with ``models=[resnet]``, on the corpus split
     the demo corpus's way and on the same links split 70/15/15;
and prints one table, writes bench/results.md and bench/results.png, each figure as measured
with its target beside it. What every figure means: bench/README.md.

``python -m bench _extract ...`` / ``_profile ...`` are the bench's own worker processes.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import (
    BENCH_DIR,
    BENCH_ROOT,
    MODEL,
    REPO,
    BenchError,
    default_chunk_size,
    say,
)
from bench.corpus import (
    UNEVEN_SHARES,
    Source,
    demo_sources,
    ensure_demo_corpus,
    main_corpus,
    shares_label,
    split_counts,
    uneven_corpus,
    write_manifest,
)
from bench.inloop import measure_speedups, run_plain, worker_extract
from bench.models import run_models_comparison
from bench.plan_scale import PlanReport
from bench.plan_scale import add_arguments as add_plan_arguments
from bench.plan_scale import markdown as plan_markdown
from bench.plan_scale import measure as measure_plan
from bench.plot import plot
from bench.properties_cost import corpus_manifest, measure_cost
from bench.report import Report, runs_table, speedup_table, targets_table
from bench.results_md import render_markdown
from bench.runner import wait_for_quiet
from bench.scale import run_scale
from bench.shards import ShardsReport, add_arguments, options_from_bench
from bench.shards import markdown as shards_markdown
from bench.shards import measure as measure_shards
from bench.stages import run_profile, worker_profile
from bench.workflow import run_workflow, time_snakemake_import
from fraudprep.base.memory import peak_rss_mb

WORKERS: dict[str, Callable[..., None]] = {"_extract": worker_extract, "_profile": worker_profile}


def parse_sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--files", "-n", type=int, default=2000, help="corpus size N")
    parser.add_argument(
        "--seed-files",
        type=int,
        default=1000,
        help="at most this many (evenly spaced) files for the seed run a",
    )
    parser.add_argument(
        "--group-files",
        type=int,
        default=400,
        help="files per input-format subset (16 kHz mono, 44.1 kHz stereo)",
    )
    parser.add_argument(
        "--chunk-sizes",
        default=None,
        help="workflow chunk sizes at N (default: config's, 512, 4000)",
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000",
        help="more corpus sizes for b and c at the default chunk size "
        "(memory and throughput vs N); '' for none",
    )
    parser.add_argument(
        "--scale", action="store_true", help="also time snakemake -n on --scale-files files"
    )
    parser.add_argument("--scale-files", type=int, default=100_000)
    parser.add_argument(
        "--properties-rounds",
        type=int,
        default=16,
        help="on/off rounds of 250 files for the shortcut properties' cost; 0 to skip",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each run this many times, keep the fastest"
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=120.0,
        help="seconds to wait for other processes to go quiet before each run",
    )
    parser.add_argument(
        "--profile-files", type=int, default=200, help="files for the cProfile breakdown; 0 to skip"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH_DIR,
        help="folder for results.md and results.png (default: bench/, the committed ones)",
    )
    # Issue 23's compact outputs and streaming (bench/shards.py): --shards-files 0 skips them.
    add_arguments(parser, prefix="shards-")
    # Issue 27's `fraudprep plan` at scale (bench/plan_scale.py): --plan-sizes '' with
    # --plan-listing-files 0 skips it.
    add_plan_arguments(parser, prefix="plan-")
    return parser.parse_args(argv)


def check_plotting() -> None:
    # Fail before minutes of measuring, not after; without importing it (keeps this process
    # small until the end, see corpus.demo_sources).
    if importlib.util.find_spec("matplotlib") is None:
        raise BenchError("matplotlib is needed for results.png: .venv/bin/pip install matplotlib")


def measure_size(report: Report, sources: Sequence[Source], files: int, chunks: list[int]) -> None:
    """b and c (at each chunk size) on an N-file corpus, then c on its uneven twin."""
    corpus = main_corpus(files, sources)
    workdir = BENCH_ROOT / "runs" / f"plain-N{files}"
    manifest = workdir / "manifest.csv"
    write_manifest(corpus, manifest)
    label = f"N={files}"
    report.plain[files] = report.record(lambda: run_plain(manifest, files, workdir, label))
    for chunk in chunks:
        report.workflows[(files, chunk)] = report.record(
            lambda c=chunk: run_workflow(corpus, files, c, label)
        )
    measure_uneven(report, sources, files)


def measure_uneven(report: Report, sources: Sequence[Source], files: int) -> None:
    """c at the default chunk size on the same N links split 70/15/15 (issue 13): with most
    files in one split, chunks must cross splits to keep both cores busy."""
    corpus = uneven_corpus(files, sources)
    counts = "/".join(str(count) for count in split_counts(corpus).values())
    splits = f"{shares_label(UNEVEN_SHARES)} ({counts})"
    label = f"N={files}, splits {splits}"
    chunk = report.default_chunk
    report.uneven[files] = report.record(
        lambda: run_workflow(corpus, files, chunk, label, splits=splits)
    )


def chunk_sizes(text: str | None, default_chunk: int) -> list[int]:
    chunks = parse_sizes(text) if text else [default_chunk, 512, 4000]
    return list(dict.fromkeys([default_chunk, *chunks]))  # the default first, no repeats


def measure_all(report: Report, args: argparse.Namespace) -> None:
    """Every measurement, in the order the tables list them."""
    ensure_demo_corpus()
    sources = demo_sources()
    report.snakemake_import_s.append(time_snakemake_import())
    measure_size(report, sources, args.files, chunk_sizes(args.chunk_sizes, report.default_chunk))
    measure_speedups(report, sources, args.group_files)
    wait_for_quiet(report.max_wait_s)
    corpus = main_corpus(args.files, sources)
    report.models = run_models_comparison(corpus, args.files, report.default_chunk)
    for files in parse_sizes(args.sizes):
        if files != args.files:
            measure_size(report, sources, files, [report.default_chunk])
    if args.properties_rounds:
        wait_for_quiet(report.max_wait_s)
        manifest, files = corpus_manifest(args.files)
        report.properties_cost = measure_cost(manifest, files, 250, args.properties_rounds, MODEL)
    if args.profile_files:
        run_profile(report, args.profile_files)
    if args.scale:
        wait_for_quiet(report.max_wait_s)
        report.scale = run_scale(args.scale_files, sources, report.default_chunk)
    report.snakemake_import_s.append(time_snakemake_import())


def write_results(
    report: Report,
    output: Path,
    shards: ShardsReport | None = None,
    plan: PlanReport | None = None,
) -> tuple[Path, Path]:
    output.mkdir(parents=True, exist_ok=True)
    markdown, png = output / "results.md", output / "results.png"
    text = render_markdown(report, markdown)
    if shards is not None:
        text = text.rstrip("\n") + "\n\n" + shards_markdown(shards) + "\n"
    if plan is not None:
        text = text.rstrip("\n") + "\n\n" + plan_markdown(plan) + "\n"
    markdown.write_text(text, encoding="utf-8")
    plot(report, png)
    return markdown, png


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    report = Report(
        files=args.files,
        default_chunk=default_chunk_size(),
        seed_files=args.seed_files,
        repeat=args.repeat,
        max_wait_s=args.max_wait,
        command=shlex.join(["python", "-m", "bench", *argv]),  # quoted: --sizes '' shows
    )
    check_plotting()
    measure_all(report, args)
    shards_options = options_from_bench(args)
    shards = measure_shards(shards_options) if shards_options.files else None
    plan = None
    if parse_sizes(args.plan_sizes) or args.plan_listing_files:
        plan = measure_plan(parse_sizes(args.plan_sizes), args.plan_listing_files, args.plan_runs)
        plan.command = (
            f"python -m bench.plan_scale (from make bench) --sizes {shlex.quote(args.plan_sizes)} "
            f"--listing-files {args.plan_listing_files} --runs {args.plan_runs}"
        )
    report.wall_s = time.perf_counter() - began
    report.bench_peak_mb = peak_rss_mb()
    markdown, png = write_results(report, args.output.resolve(), shards, plan)
    print(runs_table(report))
    print()
    print(speedup_table(report))
    print()
    print(targets_table(report))
    if shards is not None:
        print()
        print(shards_markdown(shards))
    if plan is not None:
        print()
        print(plan_markdown(plan))
    say(f"done in {report.wall_s / 60:.1f} min; wrote {shown(markdown)} and {shown(png)}")
    return 0


def run(argv: Sequence[str]) -> int:
    if argv and argv[0] in WORKERS:
        WORKERS[argv[0]](*argv[1:])
        return 0
    try:
        return main(argv)
    except BenchError as error:
        say(f"failed: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
