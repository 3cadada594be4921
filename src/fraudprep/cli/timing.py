"""How long a run will take, from rates measured before: never a guess without its source.

The extraction jobs' rate comes from an earlier run in the same output_dir when there is one
(Snakemake's benchmark file of each job, ``<output_dir>/benchmarks/extract_features/``, over
the files of its chunk); otherwise from ``bench/results.md``, the per-file CPU time of
``extract_chunk`` measured per profile by ``make bench``. Content hashing is timed here, on a
buffer in memory: a floor, since reading the files from disk may be slower.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fraudprep.inputs.chunks import read_chunks
from fraudprep.run.settings import ModelSettings, twins

BENCH_RESULTS = Path("bench") / "results.md"  # in the checkout
EXTRACTION_BENCHMARKS = Path("benchmarks") / "extract_features"  # in output_dir
MANIFEST_BENCHMARK = Path("benchmarks") / "build_manifest.tsv"
# The bench table's rows of fraudprep's extraction loop alone, one process, one profile, on
# its mixed corpus (sample rates and channel counts of several kinds).
BENCH_ROW = re.compile(r"b1 extract_chunk, (?P<model>[\w-]+), mixed")
BENCH_COLUMN = "CPU ms/file"
HASH_PROBE_BYTES = 16 * 2**20
HASH_PROBE_ROUNDS = 3


@dataclass(frozen=True)
class Rate:
    """Seconds of one extraction job per file, and where that figure comes from."""

    seconds_per_file: float
    source: str


def earlier_run_rate(output_dir: str | Path) -> Rate | None:
    """The rate of the extraction jobs an earlier run in ``output_dir`` recorded, or None.

    A job's benchmark file is named after its chunk; the chunk's size is in chunks.csv. The
    jobs' start-up is included, which weighs more in small chunks.
    """
    folder = Path(output_dir) / EXTRACTION_BENCHMARKS
    chunks_table = Path(output_dir) / "chunks.csv"
    benchmarks = sorted(folder.glob("*.tsv"))
    if not benchmarks or not chunks_table.is_file():
        return None
    # Imported here: the report module loads matplotlib, which only this needs.
    from fraudprep.report.job_resources import read_benchmark

    sizes = {chunk.id: chunk.size for chunk in read_chunks(chunks_table)}
    seconds = files = 0.0
    for path in benchmarks:
        measured = read_benchmark(path)["s"]
        if path.stem in sizes and math.isfinite(measured):
            seconds += measured
            files += sizes[path.stem]
    if not files:
        return None
    made = sorted(p.parent.name for p in Path(output_dir).glob("*/settings.json"))
    return Rate(
        seconds / files,
        f"measured by {len(benchmarks)} extraction job(s) of the earlier run here (models "
        f"{', '.join(made)}): {seconds:.1f} s for {files:.0f} files, start-up included",
    )


def bench_rate(checkout: Path, models: Sequence[ModelSettings]) -> Rate | None:
    """The rate from bench/results.md: each model's per-file CPU time, summed over the models
    that compute their own arrays (twins share them). None without a usable table."""
    results = checkout / BENCH_RESULTS
    if not results.is_file():
        return None
    text = results.read_text(encoding="utf-8")
    per_model = _bench_figures(text)
    if not per_model:
        return None
    shared = twins(models)
    slowest = max(per_model.values())
    computed = [m.model for index, m in enumerate(models) if index not in shared]
    # A profile the bench did not measure (lfcc, raw, a new block) counts as the slowest one.
    figures = [(name, per_model.get(name, slowest)) for name in computed]
    unmeasured = [name for name in computed if name not in per_model]
    terms = " + ".join(f"{name} {ms:.2f}" for name, ms in figures)
    note = ""
    if unmeasured:
        note = f"; {', '.join(unmeasured)} not measured there: counted as the slowest"
    return Rate(
        sum(ms for _, ms in figures) / 1000,
        f"{BENCH_RESULTS} ({_bench_machine(text)}): extract_chunk CPU ms per file, one "
        f"process, mixed corpus: {terms}; decoding counted per model (an upper figure), "
        f"job start-up not included{note}",
    )


def _bench_figures(text: str) -> dict[str, float]:
    """Profile -> CPU ms per file from the results' "Runs" table."""
    column = None
    figures = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if BENCH_COLUMN in cells:
            column = cells.index(BENCH_COLUMN)
            continue
        match = BENCH_ROW.match(cells[0]) if column is not None and cells else None
        if match and len(cells) > column:
            try:
                figures[match["model"]] = float(cells[column])
            except ValueError:
                continue
    return figures


def _bench_machine(text: str) -> str:
    """The date and cores of the bench run, as its results say them."""
    date = re.search(r"^- Date: (\S+)", text, re.MULTILINE)
    cores = re.search(r"^- CPU: .*?(\d+) cores", text, re.MULTILINE)
    parts = [date[1] if date else "undated", f"{cores[1]} cores" if cores else ""]
    return ", ".join(part for part in parts if part)


def earlier_manifest_seconds(output_dir: str | Path) -> float | None:
    """The earlier run's manifest step, as its benchmark file measured it."""
    path = Path(output_dir) / MANIFEST_BENCHMARK
    if not path.is_file():
        return None
    from fraudprep.report.job_resources import read_benchmark

    seconds = read_benchmark(path)["s"]
    return seconds if math.isfinite(seconds) else None


def hashing_bytes_per_second() -> float:
    """SHA-256 (what the manifest step hashes with) on this machine, now, from memory."""
    block = bytes(HASH_PROBE_BYTES)
    fastest = math.inf
    for _ in range(HASH_PROBE_ROUNDS):  # the fastest round: the others met other load
        started = time.perf_counter()
        hashlib.sha256(block).digest()
        fastest = min(fastest, time.perf_counter() - started)
    return HASH_PROBE_BYTES / max(fastest, 1e-9)


def wall_seconds(files: int, rate: Rate, cores: int, chunks: int) -> float:
    """Extraction time: the jobs' seconds shared by the cores (one job a core, at most one
    job a chunk)."""
    parallel = max(1, min(cores, chunks))
    return files * rate.seconds_per_file / parallel
