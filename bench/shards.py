"""Issue 23: compact outputs (``format: shards``, ``dtype: float16|uint8``) and streaming them
into training, as figures with their targets beside them.

1. bytes: every ``format`` x ``dtype`` on the demo corpus, the four default models in one
   run each; bytes on disk counted once per inode (chunks/ copies and twin models are hard
   links), per ``resnet`` sample and per input file for the four models;
2. reading: a torch DataLoader with 2 workers over ``ShardDataset`` against ``BatchDataset``
   indexed in random order in one process (as ``DataLoader(shuffle=True)`` reads it), on the
   same files, page cache warm; and how mixed the classes come out of the shard stream;
3. end to end: ``snakemake --cores 2`` with ``format=shards dtype=uint8 models=[resnet]`` on
   N hard links against the seed's librosa pipeline in one process, where the time goes,
   peak RSS per extraction job and the aggregation's time;
4. a projection to 1,000,000 files from these rates: disk, and wall time on 2 cores and on a
   20-node SLURM cluster of 32 cores each.

Usage: ``.venv/bin/python -m bench.shards [--files 20000] [--read-files 2000] ...`` (only
prints); ``make bench`` runs it too (``--shards-files``) and adds its tables to results.md.
``python -m bench.shards _read ...`` is its own worker process (torch is imported there only).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BENCH_ROOT, CORES, MODEL, REPO, BenchError, default_chunk_size, say
from bench.corpus import (
    demo_sources,
    ensure_demo_corpus,
    main_corpus,
    write_manifest,
    write_subset_manifest,
)
from bench.inloop import run_seed
from bench.memory import job_log_peaks, read_tsv_column, tsv_column
from bench.models import ALL_MODELS
from bench.report import fmt, md_table, status
from bench.runner import run_measured, wait_for_quiet
from bench.workflow import OUTPUT_DIR, delete_batches, fresh_workdir, job_spans, workflow_phases

FORMATS = ("pickle", "npy", "shards")
DTYPES = ("float32", "float16", "uint8")
DEMO_LISTING = REPO / "data" / "demo-protocol.csv"
# The seed's resnet sample: 224 x 224 x 3 float32 ("602 KB" in issue 23 and the README).
SEED_SAMPLE_BYTES = 224 * 224 * 3 * 4
KB = 1000.0
TARGET_UINT8_FACTOR = 10.0  # resnet, shards + uint8: at least 10x fewer bytes than 602 KB
TARGET_FLOAT16_FACTOR = 5.0  # resnet, shards + float16
TARGET_FOUR_MODELS_KB = 120.0  # the four default models, shards + uint8, per input file
TARGET_READ_RATIO = 3.0  # ShardDataset with 2 workers / BatchDataset in random order
TARGET_END_TO_END = 6.0  # seed in one process / snakemake --cores 2, shards + uint8
TARGET_JOB_RSS_MB = 150.0
READ_BATCH = 32
READ_WORKERS = 2
MIXING_SAMPLES = 256
PROJECTED_FILES = 1_000_000
CLUSTER_NODES, CLUSTER_CORES = 20, 32
# Read baselines: BatchDataset over these outputs of the same files, in random order.
READ_BASELINES = (("pickle", "float32"), ("npy", "float32"), ("npy", "uint8"))


# --- 1. bytes on disk ---------------------------------------------------------------------


def is_data_file(name: str) -> bool:
    """A file holding samples: shards, npy batches (data and labels), pickled batches."""
    if name.endswith((".tar", ".npy")):
        return True
    return name.endswith(".pkl") and "batch_" in name and "metadata" not in name


def unique_bytes(folders: Iterable[Path], data_only: bool) -> int:
    """st_size summed once per inode over every file under ``folders``: a hard link (chunks/
    copies, a twin model's files) costs nothing more."""
    seen: dict[tuple[int, int], int] = {}
    for folder in folders:
        for root, _, names in os.walk(folder):
            for name in names:
                if data_only and not is_data_file(name):
                    continue
                stat = os.lstat(os.path.join(root, name))
                seen[(stat.st_dev, stat.st_ino)] = stat.st_size
    return sum(seen.values())


@dataclass
class Footprint:
    """One run of the four default models on the demo corpus in one format and dtype."""

    format: str
    dtype: str
    files: int  # input files
    samples: dict[str, int]  # per model
    data_bytes: dict[str, int]  # per model, its folder alone
    all_bytes: dict[str, int]  # per model, every file of its folder (metadata too)
    union_data_bytes: int  # the four models' folders together
    union_all_bytes: int
    wall_s: float

    def per_sample(self, model: str = MODEL, data_only: bool = True) -> float:
        counted = self.data_bytes if data_only else self.all_bytes
        return counted[model] / max(1, self.samples[model])

    def per_file(self, data_only: bool = True) -> float:
        """The four models' bytes per input file (shared files once)."""
        return (self.union_data_bytes if data_only else self.union_all_bytes) / self.files


def snakemake_args(workdir: Path, *config: str) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--configfile", str(REPO / "config.yaml"),
        "--workflow-profile", str(REPO / "profiles" / "default"),
        "--directory", str(workdir), "--cores", str(CORES), "--config", *config,
    ]  # fmt: skip


def read_stats(out: Path, model: str) -> dict[str, Any]:
    for name in ("dataset_stats.json", "dataset_stats.pkl"):
        path = out / model / name
        if path.is_file():
            if name.endswith(".json"):
                return json.loads(path.read_text(encoding="utf-8"))
            import pickle

            with open(path, "rb") as handle:
                return pickle.load(handle)  # our own output, just written
    raise BenchError(f"no dataset_stats in {out / model}")


def measure_footprint(storage: str, dtype: str) -> Footprint:
    workdir = fresh_workdir(f"shards-bytes-{storage}-{dtype}")
    models = f"models=[{','.join(ALL_MODELS)}]"
    config = (f"listing={DEMO_LISTING}", models, f"format={storage}", f"dtype={dtype}",
              "report_figures=false")  # fmt: skip
    say(f"1  bytes: {storage} {dtype}, four models, demo corpus")  # bytes: no need to wait
    [usage] = run_measured([snakemake_args(workdir, *config)], [workdir / "snakemake.log"])
    out = workdir / OUTPUT_DIR
    samples = {model: int(read_stats(out, model)["total_samples"]) for model in ALL_MODELS}
    with open(out / "manifest.csv", encoding="utf-8") as handle:
        files = sum(1 for _ in handle) - 1
    footprint = Footprint(
        format=storage, dtype=dtype, files=files, samples=samples,
        data_bytes={m: unique_bytes([out / m], True) for m in ALL_MODELS},
        all_bytes={m: unique_bytes([out / m], False) for m in ALL_MODELS},
        union_data_bytes=unique_bytes([out / m for m in ALL_MODELS], True),
        union_all_bytes=unique_bytes([out / m for m in ALL_MODELS], False),
        wall_s=usage.wall_s,
    )  # fmt: skip
    shutil.rmtree(workdir / "data", ignore_errors=True)
    return footprint


# --- 2. reading ---------------------------------------------------------------------------


@dataclass
class ReadRun:
    name: str
    samples: int  # per epoch
    seconds: list[float]  # timed epochs, page cache warm
    first_labels: list[int]
    unshuffled_labels: list[int] = field(default_factory=list)
    batches: int = 0  # full batches of the untimed epoch
    single_class_batches: int = 0  # of them, those with one class only

    @property
    def samples_per_s(self) -> float:
        return self.samples / statistics.median(self.seconds)


def label_changes(labels: Sequence[int]) -> float | None:
    if len(labels) < 2:
        return None
    return sum(a != b for a, b in itertools.pairwise(labels)) / (len(labels) - 1)


def expected_changes(labels: Sequence[int]) -> float | None:
    """What a uniformly random order of these labels would give: 2p(1 - p)·n/(n - 1)."""
    if len(labels) < 2:
        return None
    p = sum(labels) / len(labels)
    return 2 * p * (1 - p) * len(labels) / (len(labels) - 1)


class ReadyArrays:
    """The IPC floor: ``count`` ready arrays of one sample's shape, dealt to DataLoader
    workers, no reading or decoding: what handing samples from workers to the training
    process costs alone. Made an IterableDataset in the worker process (torch imported)."""

    def __init__(self, count: int, dtype: str) -> None:
        self.count, self.dtype = count, dtype

    def __iter__(self) -> Any:
        import numpy as np
        import torch

        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        array = np.ones((224, 224, 3), dtype=self.dtype)
        for index in range(worker, self.count, workers):
            yield array, index % 2


def worker_read(out: str, kind: str, workers: str, epochs: str) -> None:
    """The reading process: one untimed pass (page cache, imports, first labels), then
    ``epochs`` timed passes; prints a JSON line. ``kind``: shards, batches, or ipc-<dtype>
    (:class:`ReadyArrays`, as many samples as the split has)."""
    import torch
    from torch.utils.data import DataLoader, IterableDataset

    import fraudprep

    workers_n, epochs_n = int(workers), int(epochs)
    unshuffled: list[int] = []
    restore: Any = None
    if kind == "shards-stored":  # sent as stored, restored in this (the training) process
        stats = fraudprep.read_dataset_stats(out, MODEL)

        def restore(x: Any) -> Any:
            # Channels first, as a torch model takes them (BatchDataset's channels-last
            # batches would be handed over as a permuted view, at no cost).
            return fraudprep.restored(x.numpy(), stats, channels_first=True)

    if kind in ("shards", "shards-stored") or kind.startswith("ipc-"):
        dataset = fraudprep.ShardDataset(
            out, MODEL, "training", seed=0, as_stored=kind == "shards-stored"
        )
        if kind.startswith("ipc-"):
            ready = type("Ready", (ReadyArrays, IterableDataset), {})
            dataset = ready(len(dataset), kind.removeprefix("ipc-"))

        def loader(epoch: int) -> Any:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            return DataLoader(dataset, batch_size=READ_BATCH, num_workers=workers_n)

        if kind == "shards":
            stream = fraudprep.iter_shards(out, MODEL, "training", shuffle=False, worker=(0, 1))
            for _, label in stream:
                unshuffled.append(int(label))
                if len(unshuffled) == MIXING_SAMPLES:
                    break
    else:
        dataset = fraudprep.BatchDataset(out, MODEL, "training")

        def loader(epoch: int) -> Any:
            generator = torch.Generator().manual_seed(epoch)
            return DataLoader(dataset, batch_size=READ_BATCH, shuffle=True, num_workers=0,
                              generator=generator)  # fmt: skip

    def one_pass(epoch: int) -> tuple[int, float, list[list[int]]]:
        count, batches, started = 0, [], time.perf_counter()
        for x, y in loader(epoch):
            if restore is not None:
                x = restore(x)
            count += len(y)
            batches.append([int(v) for v in y])
            del x
        return count, time.perf_counter() - started, batches

    count, _, batches = one_pass(0)
    seconds = [one_pass(epoch)[1] for epoch in range(1, epochs_n + 1)]
    first = [label for batch in batches for label in batch][:MIXING_SAMPLES]
    full = [batch for batch in batches if len(batch) == READ_BATCH]
    single = sum(1 for batch in full if len(set(batch)) == 1)
    print(json.dumps({"samples": count, "seconds": seconds, "first_labels": first,
                      "unshuffled_labels": unshuffled, "batches": len(full),
                      "single_class_batches": single}), flush=True)  # fmt: skip


def extract_outputs(corpus: Path, files: int, storage: str, dtype: str) -> Path:
    """The workflow's resnet outputs of ``corpus`` in one format and dtype (not timed)."""
    workdir = fresh_workdir(f"shards-read-N{files}-{storage}-{dtype}")
    config = (f"input_dir={corpus}", f"models=[{MODEL}]", f"format={storage}", f"dtype={dtype}",
              "report_figures=false")  # fmt: skip
    say(f"2  outputs to read: {storage} {dtype}, N={files}")  # not timed: no need to wait
    run_measured([snakemake_args(workdir, *config)], [workdir / "snakemake.log"])
    return workdir / OUTPUT_DIR


def measure_read(
    out: Path, name: str, kind: str, workers: int, epochs: int, max_wait_s: float
) -> ReadRun:
    command = [sys.executable, "-m", "bench.shards", "_read", str(out), kind, str(workers),
               str(epochs)]  # fmt: skip
    say(f"2  reading: {name}")
    wait_for_quiet(max_wait_s)
    [usage] = run_measured([command], [out.parent / f"read-{kind}-{workers}.log"])
    summary = usage.summary()
    return ReadRun(name, summary["samples"], summary["seconds"], summary["first_labels"],
                   summary["unshuffled_labels"], summary["batches"],
                   summary["single_class_batches"])  # fmt: skip


def measure_reading(files: int, epochs: int, max_wait_s: float) -> list[ReadRun]:
    """ShardDataset (2 workers, then 0) on shards + uint8; BatchDataset in random order on
    the same files in each baseline's format and dtype."""
    corpus = main_corpus(files, demo_sources())
    runs = []
    shards = extract_outputs(corpus, files, "shards", "uint8")
    for workers in (READ_WORKERS, 0):
        name = f"ShardDataset, shards uint8, DataLoader {workers} workers"
        runs.append(measure_read(shards, name, "shards", workers, epochs, max_wait_s))
    name = (
        f"ShardDataset as_stored, restored channels first in the training process, "
        f"{READ_WORKERS} workers"
    )
    runs.append(measure_read(shards, name, "shards-stored", READ_WORKERS, epochs, max_wait_s))
    for dtype in ("float32", "uint8"):  # what handing samples over costs, without reading
        name = f"IPC floor: ready {dtype} arrays, DataLoader {READ_WORKERS} workers, no reading"
        runs.append(measure_read(shards, name, f"ipc-{dtype}", READ_WORKERS, epochs, max_wait_s))
    shutil.rmtree(shards.parent.parent, ignore_errors=True)
    for storage, dtype in READ_BASELINES:
        out = extract_outputs(corpus, files, storage, dtype)
        name = f"BatchDataset, {storage} {dtype}, random order, one process"
        runs.append(measure_read(out, name, "batches", 0, epochs, max_wait_s))
        shutil.rmtree(out.parent.parent, ignore_errors=True)
    return runs


# --- 3. end to end ------------------------------------------------------------------------


@dataclass
class EndToEnd:
    files: int
    chunk_size: int
    wall_s: float
    user_s: float
    system_s: float
    job_seconds: list[float]  # extraction jobs, from their benchmark files
    job_cpu_s: list[float]
    job_tsv_rss_mb: list[float]
    job_hwm_mb: list[float]
    job_log_peak_mb: list[float]
    aggregate_s: float | None
    aggregate_tsv_rss_mb: float | None
    aggregate_hwm_mb: float | None
    phases: dict[str, float]
    busy: float | None
    bytes_per_sample: float
    other_load: float

    @property
    def job_s_per_file(self) -> float:
        return sum(self.job_seconds) / self.files

    @property
    def job_cpu_per_file(self) -> float:
        """CPU seconds per file of the extraction jobs (benchmark cpu_time): what a core
        does, whatever else ran on the machine meanwhile."""
        return sum(self.job_cpu_s) / self.files


def children_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime


def run_end_to_end(corpus: Path, files: int, figures: bool, max_wait_s: float) -> EndToEnd:
    """snakemake --cores 2, shards + uint8, resnet, on ``corpus``, measured."""
    chunk = default_chunk_size()
    workdir = fresh_workdir(f"shards-N{files}")
    config = [f"input_dir={corpus}", f"models=[{MODEL}]", "format=shards", "dtype=uint8",
              f"chunk_size={chunk}"] + ([] if figures else ["report_figures=false"])  # fmt: skip
    say(f"3  snakemake --cores {CORES}, shards uint8, {MODEL}, N={files}")
    wait_for_quiet(max_wait_s)
    user0, system0 = children_cpu()  # wait4 adds each reaped tree's CPU to ours
    [usage] = run_measured([snakemake_args(workdir, *config)], [workdir / "snakemake.log"], True)
    user1, system1 = children_cpu()
    out = workdir / OUTPUT_DIR
    tsvs = sorted((out / "benchmarks" / "extract_features").glob("*.tsv"))
    aggregate = out / "benchmarks" / "aggregate_batches" / f"{MODEL}.tsv"
    phases, busy = workflow_phases(job_spans(out / "benchmarks"), usage)
    tree = usage.tree
    assert tree is not None
    samples = int(read_stats(out, MODEL)["total_samples"])
    run = EndToEnd(
        files=files, chunk_size=chunk, wall_s=usage.wall_s,
        user_s=user1 - user0, system_s=system1 - system0,
        job_seconds=tsv_column(tsvs, "s"), job_cpu_s=tsv_column(tsvs, "cpu_time"),
        job_tsv_rss_mb=tsv_column(tsvs, "max_rss"),
        job_hwm_mb=tree.by_role("extract_features"),
        job_log_peak_mb=job_log_peaks(out / "logs" / "extract_features"),
        aggregate_s=read_tsv_column(aggregate, "s"),
        aggregate_tsv_rss_mb=read_tsv_column(aggregate, "max_rss"),
        aggregate_hwm_mb=max(tree.by_role("aggregate_batches"), default=None),
        phases=phases, busy=busy,
        bytes_per_sample=unique_bytes([out / MODEL], True) / max(1, samples),
        other_load=usage.other_load,
    )  # fmt: skip
    say(f"   {run.wall_s:.1f} s wall, user {run.user_s:.1f} s, system {run.system_s:.1f} s")
    delete_batches(out)
    return run


@dataclass
class SeedRun:
    files: int
    wall_s: float
    loop_s: float
    cpu_s: float

    @property
    def startup_s(self) -> float:
        return self.wall_s - self.loop_s

    def seconds_for(self, files: int) -> float:
        """Start-up once, then the per-file loop time for every file."""
        return self.startup_s + files * self.loop_s / self.files

    def scaled_wall(self, files: int) -> float:
        """As bench/report.py scales a: the whole wall time, per file (start-up included)."""
        return self.wall_s * files / self.files


def measure_seed(corpus: Path, files: int, seed_files: int, max_wait_s: float) -> SeedRun:
    workdir = BENCH_ROOT / "runs" / f"shards-seed-N{files}"
    workdir.mkdir(parents=True, exist_ok=True)
    write_manifest(corpus, workdir / "manifest.csv")
    subset = workdir / "seed-manifest.csv"
    count = write_subset_manifest(workdir / "manifest.csv", seed_files, subset)
    wait_for_quiet(max_wait_s)
    result = run_seed(subset, count, workdir, f"N={files}")
    return SeedRun(count, result.wall_s, sum(result.loop_s_per_process), result.cpu_s)


# --- 4. projection ------------------------------------------------------------------------


def fitted(points: Sequence[tuple[int, float]], files: int, constant: bool = False) -> float:
    """A phase's seconds at ``files``: the line through two measured sizes, or, from one,
    proportional to the files (``constant``: the same at any size)."""
    if len(points) >= 2:
        (n0, s0), (n1, s1) = sorted(points)[:1] + sorted(points)[-1:]
        slope = (s1 - s0) / (n1 - n0)
        return max(0.0, s0 + slope * (files - n0))
    (n0, s0) = points[0]
    return s0 if constant else s0 * files / n0


SERIAL_PHASES = ("start-up + DAG", "manifest, chunks, settings", "aggregate", "report figures",
                 "exit")  # fmt: skip


@dataclass
class Projection:
    files: int
    serial_s: dict[str, float]
    job_s_per_file: float
    chunk_size: int

    def two_cores_s(self) -> float:
        return sum(self.serial_s.values()) + self.files * self.job_s_per_file / CORES

    def cluster_s(self, chunk_size: int | None = None) -> tuple[float, int]:
        """Wall on CLUSTER_NODES x CLUSTER_CORES: serial phases on one core as here; the chunks
        in waves of one per core. Returns (seconds, chunks)."""
        from fraudprep.inputs.chunks import chunk_count

        chunks = chunk_count(self.files, chunk_size or self.chunk_size)
        waves = math.ceil(chunks / (CLUSTER_NODES * CLUSTER_CORES))
        per_chunk = math.ceil(self.files / chunks)
        return sum(self.serial_s.values()) + waves * per_chunk * self.job_s_per_file, chunks


def project(runs: Sequence[EndToEnd], files: int = PROJECTED_FILES) -> Projection:
    main = max(runs, key=lambda run: run.files)
    serial = {}
    for phase in SERIAL_PHASES:
        points = [(run.files, run.phases.get(phase, 0.0)) for run in runs]
        serial[phase] = fitted(points, files, constant=phase in ("start-up + DAG", "exit"))
    return Projection(files, serial, main.job_cpu_per_file, main.chunk_size)


# --- the report ---------------------------------------------------------------------------


@dataclass
class ShardsReport:
    command: str = ""
    footprints: list[Footprint] = field(default_factory=list)
    read_files: int = 0
    reads: list[ReadRun] = field(default_factory=list)
    runs: list[EndToEnd] = field(default_factory=list)  # the main size last
    seed: SeedRun | None = None
    wall_s: float = 0.0

    def footprint(self, storage: str, dtype: str) -> Footprint | None:
        found = [f for f in self.footprints if (f.format, f.dtype) == (storage, dtype)]
        return found[0] if found else None

    @property
    def main_run(self) -> EndToEnd | None:
        return max(self.runs, key=lambda run: run.files) if self.runs else None


def gb(count: float) -> str:
    return f"{count / 1e9:,.1f} GB" if count < 1e12 else f"{count / 1e12:,.2f} TB"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def bytes_table(report: ShardsReport) -> str:
    headers = ("format", "dtype", "resnet KB per sample (batch/shard files)",
               "fewer bytes than 602 KB", "resnet KB per sample, all files",
               "4 models KB per input file (batch/shard files)",
               "4 models KB per file, all files")  # fmt: skip
    rows = [
        (f.format, f.dtype, fmt(f.per_sample() / KB), f"{SEED_SAMPLE_BYTES / f.per_sample():.1f}x",
         fmt(f.per_sample(data_only=False) / KB), fmt(f.per_file() / KB),
         fmt(f.per_file(data_only=False) / KB))
        for f in report.footprints
    ]  # fmt: skip
    return md_table(headers, rows)


def read_table(report: ShardsReport) -> str:
    headers = ("reader", "samples per epoch", "s per epoch (median)", "samples/s",
               f"label changes, first {MIXING_SAMPLES} (random order would give)",
               f"one-class batches of {READ_BATCH}")  # fmt: skip
    rows = []
    for run in report.reads:
        changes = label_changes(run.first_labels)
        mixing = f"{fmt(changes, 2)} ({fmt(expected_changes(run.first_labels), 2)})"
        if run.name.startswith("IPC"):
            mixing, single = "—", "—"
        else:
            single = f"{run.single_class_batches} of {run.batches}"
        rows.append((run.name, str(run.samples), fmt(statistics.median(run.seconds), 2),
                     fmt(run.samples_per_s, 0), mixing, single))  # fmt: skip
    shards = next((run for run in report.reads if run.unshuffled_labels), None)
    if shards:
        changes = label_changes(shards.unshuffled_labels)
        expected = expected_changes(shards.unshuffled_labels)
        rows.append(("shard list order, no shuffle (iter_shards shuffle=False)", "—", "—", "—",
                     f"{fmt(changes, 2)} ({fmt(expected, 2)})", "—"))  # fmt: skip
    return md_table(headers, rows)


def end_to_end_table(report: ShardsReport) -> str:
    headers = ("N", "wall s", "user CPU s", "system CPU s", "extraction jobs",
               "jobs' summed s (cpu_time s)", "cores busy in extraction", "job ms/file, wall (CPU)",
               "phases: start-up / manifest+chunks / extraction / aggregate / figures / exit s",
               "aggregate s (tsv)", "job max_rss MB max (VmHWM)", "other load")  # fmt: skip
    rows = []
    for run in report.runs:
        phases = " / ".join(
            fmt(run.phases.get(name), 1)
            for name in ("start-up + DAG", "manifest, chunks, settings", "extraction",
                         "aggregate", "report figures", "exit")
        )  # fmt: skip
        rows.append((
            f"{run.files:,}", fmt(run.wall_s), fmt(run.user_s), fmt(run.system_s),
            str(len(run.job_seconds)),
            f"{fmt(sum(run.job_seconds))} ({fmt(sum(run.job_cpu_s))})",
            fmt(run.busy, 2) if run.busy is not None else "—",
            f"{fmt(1000 * run.job_s_per_file, 2)} ({fmt(1000 * run.job_cpu_per_file, 2)})",
            phases, fmt(run.aggregate_s, 2),
            f"{fmt(max(run.job_tsv_rss_mb, default=None))} "
            f"({fmt(max(run.job_hwm_mb, default=None))})",
            fmt(run.other_load, 2),
        ))  # fmt: skip
    seed = report.seed
    if seed:
        rows.append((
            f"seed (librosa, one process), {seed.files} files", fmt(seed.wall_s), "—", "—",
            "—", "—", "—", f"{fmt(1000 * seed.loop_s / seed.files, 2)} in loop",
            f"start-up + warm-up {fmt(seed.startup_s)}", "—", "—", "—",
        ))  # fmt: skip
    return md_table(headers, rows)


def projection_tables(report: ShardsReport) -> str:
    parts = []
    rows = []
    for f in report.footprints:
        rows.append((f.format, f.dtype, gb(PROJECTED_FILES * f.per_sample(data_only=False)),
                     gb(PROJECTED_FILES * f.per_file(data_only=False))))  # fmt: skip
    if rows:
        parts.append(md_table(("format", "dtype", "resnet", "four default models"), rows))
    if report.runs:
        projection = project(report.runs)
        cluster_s, chunks = projection.cluster_s()
        cores = CLUSTER_NODES * CLUSTER_CORES
        full_chunk = math.ceil(PROJECTED_FILES / cores)
        full_s, full_chunks = projection.cluster_s(full_chunk)
        serial = projection.serial_s
        rows = [
            (f"{CORES} cores (this machine)", duration(projection.two_cores_s()),
             f"{duration(PROJECTED_FILES * projection.job_s_per_file / CORES)} extraction + "
             f"{duration(sum(serial.values()))} serial"),
            (f"SLURM {CLUSTER_NODES} x {CLUSTER_CORES} cores, chunk_size "
             f"{projection.chunk_size} ({chunks} jobs)", duration(cluster_s),
             f"{duration(cluster_s - sum(serial.values()))} extraction + "
             f"{duration(sum(serial.values()))} serial"),
            (f"SLURM {CLUSTER_NODES} x {CLUSTER_CORES} cores, chunk_size {full_chunk} "
             f"({full_chunks} jobs)", duration(full_s),
             f"{duration(full_s - sum(serial.values()))} extraction + "
             f"{duration(sum(serial.values()))} serial"),
        ]  # fmt: skip
        if report.seed:
            rows.append(
                (
                    "seed pipeline, one process",
                    duration(report.seed.seconds_for(PROJECTED_FILES)),
                    "in-loop rate x files",
                )
            )
        parts.append(md_table(("1,000,000 files, shards uint8, resnet", "wall", "of which"), rows))
        detail = ", ".join(f"{name} {duration(s)}" for name, s in serial.items())
        parts.append(
            f"Serial phases at 1,000,000 files: {detail}; "
            + ("fitted as a line through the two measured sizes"
               if len(report.runs) > 1 else "proportional to the files (one size measured)")
            + f". Extraction: {1000 * projection.job_s_per_file:.2f} ms of CPU per file (the "
            "extraction jobs' benchmark cpu_time, start-up included; each job uses one core), "
            "perfect parallelism across jobs. Serial phases are wall times as measured, so "
            "they carry the other load of their run."
        )  # fmt: skip
    return "\n\n".join(parts)


def targets_rows(report: ShardsReport) -> list[tuple[str, str, str, str]]:
    rows = []
    uint8, float16 = report.footprint("shards", "uint8"), report.footprint("shards", "float16")
    for footprint, target in ((uint8, TARGET_UINT8_FACTOR), (float16, TARGET_FLOAT16_FACTOR)):
        if footprint:
            factor = SEED_SAMPLE_BYTES / footprint.per_sample()
            rows.append((
                f"resnet bytes per sample, shards + {footprint.dtype} (demo corpus, "
                "batch/shard files, hard links once)",
                f"{footprint.per_sample() / KB:.1f} KB: {factor:.1f}x fewer than 602 KB",
                f"≥ {target:.0f}x", status(factor >= target),
            ))  # fmt: skip
    if uint8:
        per_file = uint8.per_file() / KB
        rows.append((
            "four default models, shards + uint8, KB per input file (batch/shard files; all "
            f"files {uint8.per_file(data_only=False) / KB:.1f} KB)",
            f"{per_file:.1f} KB", f"≤ {TARGET_FOUR_MODELS_KB:.0f} KB",
            status(per_file <= TARGET_FOUR_MODELS_KB),
        ))  # fmt: skip
    streams = [
        run for run in report.reads
        if run.name.startswith("ShardDataset") and f"{READ_WORKERS} workers" in run.name
    ]  # fmt: skip
    streamed = streams[0] if streams else None
    for stream in streams:
        for run in report.reads:
            if run.name.startswith("BatchDataset"):
                ratio = stream.samples_per_s / run.samples_per_s
                rows.append((
                    f"reading, N={report.read_files}: {stream.name} / {run.name}",
                    f"{ratio:.1f}x ({stream.samples_per_s:,.0f} / {run.samples_per_s:,.0f} "
                    "samples/s)",
                    f"≥ {TARGET_READ_RATIO:.0f}x", status(ratio >= TARGET_READ_RATIO),
                ))  # fmt: skip
    if streamed:
        changes = label_changes(streamed.first_labels)
        rows.append((
            f"classes mixed: label changes in the first {MIXING_SAMPLES} samples of the "
            f"DataLoader ({READ_WORKERS} workers)",
            f"{fmt(changes, 2)} (random order: {fmt(expected_changes(streamed.first_labels), 2)}"
            f"; shard order unshuffled: {fmt(label_changes(streamed.unshuffled_labels), 2)}); "
            f"one-class batches: {streamed.single_class_batches} of {streamed.batches}",
            "≈ random", "—",
        ))  # fmt: skip
    run, seed = report.main_run, report.seed
    if run and seed:
        seed_s = seed.seconds_for(run.files)
        ratio = seed_s / run.wall_s
        rows.append((
            f"end to end, N={run.files:,}: seed (librosa, one process; start-up once + N x its "
            f"in-loop time) / snakemake --cores {CORES}, shards + uint8, resnet",
            f"{ratio:.2f}x ({seed_s:.1f} s / {run.wall_s:.1f} s; scaled as bench/report.py "
            f"does: {seed.scaled_wall(run.files) / run.wall_s:.2f}x)",
            f"≥ {TARGET_END_TO_END:.0f}x", status(ratio >= TARGET_END_TO_END),
        ))  # fmt: skip
    if run and seed:
        seed_cpu = seed.cpu_s * run.files / seed.files
        floor = (run.user_s + run.system_s) / CORES
        rows.append((
            f"end to end in CPU time, N={run.files:,}: seed's CPU (scaled) / the workflow's "
            f"user + system CPU ÷ {CORES} cores (what an idle machine would give at best)",
            f"{seed_cpu / floor:.2f}x ({seed_cpu:.1f} s / {floor:.1f} s)",
            f"≥ {TARGET_END_TO_END:.0f}x", "—",
        ))  # fmt: skip
    if run:
        for source, peaks in (("snakemake benchmark max_rss", run.job_tsv_rss_mb),
                              ("VmHWM polled by the bench", run.job_hwm_mb)):  # fmt: skip
            if peaks:
                rows.append((
                    f"peak RSS per extraction job, N={run.files:,}, shards + uint8 ({source})",
                    f"{max(peaks):.1f} MB", f"≤ {TARGET_JOB_RSS_MB:.0f} MB",
                    status(max(peaks) <= TARGET_JOB_RSS_MB),
                ))  # fmt: skip
        rows.append((
            f"aggregation (aggregate_batches job), N={run.files:,}",
            f"{fmt(run.aggregate_s, 2)} s of {run.wall_s:.1f} s wall", "—", "—",
        ))  # fmt: skip
    return rows


def targets_table(report: ShardsReport) -> str:
    return md_table(("figure", "measured", "target", "status"), targets_rows(report))


def code_version() -> str:
    """The commit measured, and whether src/ differed from it."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    return f"commit {commit}{dirty}"


def markdown(report: ShardsReport, level: str = "##") -> str:
    """Every table, with a heading each: printed, and appended to results.md by make bench."""
    sections = [
        (f"{level} Compact outputs and streaming (issue 23): targets", targets_table(report)),
        (f"{level} Bytes per format and dtype (demo corpus, {MODEL} and the four default "
         "models; hard links counted once)", bytes_table(report) if report.footprints else ""),
        (f"{level} Reading the training split, N={report.read_files} (batch {READ_BATCH}, "
         "page cache warm)", read_table(report) if report.reads else ""),
        (f"{level} End to end, shards + uint8, {MODEL} (where the time goes)",
         end_to_end_table(report) if report.runs else ""),
        (f"{level} Projection to {PROJECTED_FILES:,} files", projection_tables(report)),
    ]  # fmt: skip
    lines = [f"Written by `{report.command}` in {report.wall_s / 60:.1f} min, {code_version()}."]
    for heading, table in sections:
        if table:
            lines += ["", heading, "", table]
    return "\n".join(lines)


# --- running ------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> ShardsReport:
    began = time.perf_counter()
    report = ShardsReport(command=args.command, read_files=args.read_files)
    ensure_demo_corpus()
    skip = set(args.skip.split(",")) if args.skip else set()
    if "bytes" not in skip:
        for storage in FORMATS:
            for dtype in DTYPES:
                report.footprints.append(measure_footprint(storage, dtype))
    if "read" not in skip and args.read_files:
        report.reads = measure_reading(args.read_files, args.read_epochs, args.max_wait)
    if "end-to-end" not in skip and args.files:
        sources = demo_sources()
        sizes = [args.scaling_files] if 0 < args.scaling_files < args.files else []
        for files in [*sizes, args.files]:
            corpus = main_corpus(files, sources)
            report.runs.append(run_end_to_end(corpus, files, args.figures, args.max_wait))
        report.seed = measure_seed(main_corpus(args.files, sources), args.files,
                                   args.seed_files, args.max_wait)  # fmt: skip
    report.wall_s = time.perf_counter() - began
    return report


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The options, also under make bench's ``--shards-…`` names (``prefix='shards-'``)."""
    p = f"--{prefix}"
    if prefix:
        parser.add_argument(f"{p}files", type=int, default=None,
                            help="N for the shards end-to-end run (default: --files; 0 skips "
                            "the shards bench)")  # fmt: skip
    else:
        parser.add_argument("--files", "-n", type=int, default=20_000,
                            help="N for the end-to-end run (0 to skip it)")  # fmt: skip
    parser.add_argument(f"{p}read-files", type=int, default=2000,
                        help="corpus size for the reading comparison (0 to skip)")  # fmt: skip
    parser.add_argument(f"{p}read-epochs", type=int, default=2, help="timed epochs per reader")
    parser.add_argument(f"{p}scaling-files", type=int, default=None,
                        help="a second, smaller end-to-end size for the serial phases' "
                        "scaling (default N/10 when ≥ 300; 0 for none)")  # fmt: skip
    if not prefix:
        parser.add_argument(
            "--seed-files",
            type=int,
            default=1000,
            help="at most this many evenly spaced files for the seed run",
        )
        parser.add_argument(
            "--max-wait",
            type=float,
            default=120.0,
            help="seconds to wait for a quiet machine before each run",
        )
    parser.add_argument(f"{p}no-figures", dest=f"{prefix.replace('-', '_')}figures",
                        action="store_false",
                        help="end to end with report_figures=false")  # fmt: skip
    parser.add_argument(f"{p}skip", default="",
                        help="comma-separated parts to skip: bytes, read, end-to-end")  # fmt: skip


def settle(args: argparse.Namespace) -> argparse.Namespace:
    if args.scaling_files is None:
        args.scaling_files = args.files // 10 if args.files // 10 >= 300 else 0
    return args


def options_from_bench(args: argparse.Namespace) -> argparse.Namespace:
    """make bench's ``--shards-…`` options as this module's own."""
    files = args.files if args.shards_files is None else args.shards_files
    return settle(argparse.Namespace(
        files=files, read_files=args.shards_read_files, read_epochs=args.shards_read_epochs,
        scaling_files=args.shards_scaling_files, seed_files=args.seed_files,
        max_wait=args.max_wait, figures=args.shards_figures, skip=args.shards_skip,
        command="python -m bench.shards (from make bench) --files "
        f"{files} --read-files {args.shards_read_files}",
    ))  # fmt: skip


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    add_arguments(parser)
    args = settle(parser.parse_args(argv))
    args.command = " ".join(["python -m bench.shards", *argv])
    try:
        report = measure(args)
    except BenchError as error:
        say(f"failed: {error}")
        return 1
    print(markdown(report))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_read":
        worker_read(*sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1:]))
