"""In-loop measurements: a (the seed's librosa pipeline), b1 (our ``extract_chunk`` in one
process, on a's files) and b (``extract_chunk`` as two plain processes), and the speed-up of
b1 over a for every seed profile and input format."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import BENCH_ROOT, MODEL, BenchError, model_settings, read_limits, say
from bench.corpus import Source, build_corpus, write_manifest, write_subset_manifest
from bench.runner import Result, run_measured

if TYPE_CHECKING:
    from bench.report import Report

# The seed's scripts' profiles: each is compared with the seed-style librosa pipeline.
SEED_MODELS = ("resnet", "mobilenet", "unetr", "resnet_low_memory")
# (name, rate, channels) of the per-input-format comparison of a and b1.
GROUPS = (("16 kHz mono", 16000, 1), ("44.1 kHz stereo", 44100, 2))
SEED_PROFILE_KEYS = ("sample_rate", "duration", "trim_top_db", "n_fft", "hop_length", "n_mels",
                     "height", "width", "channels")  # fmt: skip


def worker_command(name: str, *args: Any) -> list[str]:
    """A bench worker (see __main__.WORKERS), in a process of its own."""
    return [sys.executable, "-m", "bench", name, *map(str, args)]


def seed_profile(model: str) -> tuple[dict, int]:
    """The seed-style pipeline's settings for ``model``: its fraudprep profile, and batch size."""
    settings = model_settings(model)
    return {key: getattr(settings.profile, key) for key in SEED_PROFILE_KEYS}, settings.batch_size


def run_alone(command: list[str], output: Path, log: Path, name: str, files: int) -> Result:
    """One worker process alone over ``files`` files, writing to ``output``, deleted after:
    only the time matters (0.6 MB per file)."""
    shutil.rmtree(output, ignore_errors=True)
    [usage] = run_measured([command], [log])
    shutil.rmtree(output, ignore_errors=True)
    return Result.from_workers(name, files, [usage])


def run_seed(subset: Path, files: int, workdir: Path, label: str, model: str = MODEL) -> Result:
    """a: the seed-style librosa loop over the ``subset`` manifest, one process."""
    output = workdir / "seed-out"
    profile, batch_size = seed_profile(model)
    command = [sys.executable, "-m", "bench.seed_reference", str(subset), str(output),
               "--batch-size", str(batch_size), "--profile", json.dumps(profile)]  # fmt: skip
    say(f"a  seed reference (librosa), {model}, {files} files of {label}")
    log = workdir / f"seed-{model}.log"
    result = run_alone(command, output, log, f"a seed (librosa), {model}, {label}", files)
    failures = result.usages[0].summary().get("failures")
    if failures:
        raise BenchError(f"the seed reference failed on {failures} files; see {log}")
    return result


def run_single(subset: Path, files: int, workdir: Path, label: str, model: str) -> Result:
    """b1: extract_chunk over the same ``subset`` as a, one process, as a is."""
    output = workdir / "single-out"
    command = worker_command("_extract", subset, 0, files, output, model)
    say(f"b1 plain extract_chunk, {model}, one process, {files} files of {label}")
    log = workdir / f"single-{model}.log"
    return run_alone(command, output, log, f"b1 extract_chunk, {model}, {label}", files)


def run_plain(manifest: Path, files: int, workdir: Path, label: str) -> Result:
    """b: extract_chunk over each half of the manifest, two processes side by side."""
    halves = [(0, files // 2), (files // 2, files)]
    outputs = [workdir / f"plain-out-{index}" for index in range(len(halves))]
    for output in outputs:
        shutil.rmtree(output, ignore_errors=True)
    commands = [
        worker_command("_extract", manifest, start, stop, output)
        for (start, stop), output in zip(halves, outputs, strict=True)
    ]
    logs = [workdir / f"plain-{index}.log" for index in range(len(halves))]
    say(f"b  plain extract_chunk, 2 processes over halves of {label}")
    usages = run_measured(commands, logs)
    for output in outputs:
        shutil.rmtree(output, ignore_errors=True)
    return Result.from_workers(f"b plain extract_chunk, {label}", files, usages)


def chunk_for(start: int, stop: int, index: int) -> Any:
    from fraudprep.inputs.chunks import Chunk, chunk_id

    return Chunk(chunk_id(index), start, stop)


def worker_extract(
    manifest: str, start: str, stop: str, output_dir: str, model: str = MODEL
) -> None:
    """b's and b1's process: the library's extract_chunk over manifest rows start:stop."""
    import logging

    began = time.perf_counter()
    from fraudprep.base.memory import peak_rss_mb
    from fraudprep.extraction.extract import extract_chunk

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings, limits = model_settings(model), read_limits()
    chunk = chunk_for(int(start), int(stop), 0 if int(start) == 0 else 1)
    loop_started = time.perf_counter()
    extract_chunk(manifest, chunk, settings, output_dir, limits)
    loop_s = time.perf_counter() - loop_started
    summary = {
        "files": chunk.size,
        "setup_s": loop_started - began,
        "loop_s": loop_s,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(summary), flush=True)


def speed_file_sets(
    report: Report, sources: Sequence[Source], group_files: int
) -> list[tuple[str, Path, int]]:
    """(name, subset manifest, files): the mixed corpus's evenly spaced files, then one
    subset per input format."""
    workdir = BENCH_ROOT / "runs" / f"plain-N{report.files}"
    subset = workdir / "seed-manifest.csv"
    count = write_subset_manifest(workdir / "manifest.csv", report.seed_files, subset)
    sets = [(f"mixed (N={report.files})", subset, count)]
    for name, rate, channels in GROUPS:
        chosen = [s for s in sources if s.sample_rate == rate and s.channels == channels]
        if not chosen:
            say(f"no {name} files in the demo corpus; skipping that comparison")
            continue
        slug = name.replace(" ", "-").replace(".", "")
        corpus = build_corpus(BENCH_ROOT / "groups" / f"{slug}-n{group_files}", group_files, chosen)
        manifest = BENCH_ROOT / "runs" / f"group-{slug}" / "manifest.csv"
        sets.append((name, manifest, write_manifest(corpus, manifest)))
    return sets


def measure_speedups(report: Report, sources: Sequence[Source], group_files: int) -> None:
    """a and b1 for every seed profile on every file set, one process each."""
    for name, manifest, files in speed_file_sets(report, sources, group_files):
        for model in SEED_MODELS:
            args = (manifest, files, manifest.parent, name, model)
            seed = report.record(lambda a=args: run_seed(*a))
            ours = report.record(lambda a=args: run_single(*a))
            report.speedups[(model, name)] = (seed, ours)
            if model == MODEL and name.startswith("mixed"):
                report.seed_main = seed
