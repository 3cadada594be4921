"""`make bench`: throughput and memory of fraudprep against the seed, as figures (not a test).

Builds or reuses a corpus of N hard links to the demo corpus (data/bench/N<N>/), then measures
  a. the seed-style librosa pipeline (benchmarks/seed_reference.py), one process;
  b. fraudprep's ``extract_chunk`` as two plain processes over the two halves of the manifest;
  c. the whole workflow, ``snakemake --cores 2`` with ``models=[resnet]``;
and prints one table, writes benchmarks/results.md and benchmarks/results.png, each figure as
measured with its target beside it. What every figure means: benchmarks/README.md.

Usage: bench.py [--files N] [--sizes 1000,10000] [--chunk-sizes 512,100,2000] [--scale] ...
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / "data" / "demo"
BENCH_ROOT = REPO / "data" / "bench"
RESULTS_MD = REPO / "benchmarks" / "results.md"
RESULTS_PNG = REPO / "benchmarks" / "results.png"
SEED_SCRIPT = REPO / "benchmarks" / "seed_reference.py"
MODEL = "resnet"
# The seed's scripts' profiles: each is compared with the seed-style librosa pipeline.
SEED_MODELS = ("resnet", "mobilenet", "unetr", "resnet_low_memory")
SPLITS = ("training", "validation", "testing")
LABEL_DIRS = ("real", "fake")
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
CORPUS_MARKER = "BENCH_CORPUS.json"  # written last: its presence means the corpus is complete
# One BLAS/OpenMP thread per process, as the workflow's jobs and the seed run: a process then
# uses one core, and "per process" figures compare like with like.
THREAD_ENV = dict.fromkeys(
    ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"), "1"
)
TARGET_SPEEDUP = 3.0
TARGET_OVERHEAD = 0.10
TARGET_JOB_RSS_MB = 150.0
TARGET_END_TO_END = 5.0  # snakemake --cores 2 over N files vs the seed in one process
TARGET_END_TO_END_LARGE = 6.0  # the same at 20,000 files and more
TARGET_IDEAL_RATIO = 1.25  # snakemake wall / (N x b1 in-loop ms / 2 cores)
TARGET_IDEAL_RATIO_LARGE = 1.10  # the same at 20,000 files and more
TARGET_ALL_MODELS = 0.7  # the four-model run / the sum of the four one-model runs
ALL_MODELS = ("resnet", "mobilenet", "unetr", "resnet_low_memory")
MB = 1024.0  # ru_maxrss is in KiB on Linux
PEAK_LINE = re.compile(r"Peak memory usage: ([0-9.]+) MB")
# (name, rate, channels) of the per-input-format comparison of a and b1.
GROUPS = (("16 kHz mono", 16000, 1), ("44.1 kHz stereo", 44100, 2))


def say(message: str) -> None:
    """Progress goes to stderr, so that stdout carries only the results table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and where its log is."""


# ---------------------------------------------------------------------------------------------
# Corpora: hard links to the demo corpus, FoR layout, deterministic unique names.


@dataclass(frozen=True)
class Source:
    """One demo file and what decides its cost: sample rate and channel count."""

    path: Path
    split: str
    label: str
    sample_rate: int
    channels: int


def ensure_demo_corpus() -> None:
    if (DEMO_DIR / "CORPUS.json").is_file():
        return
    say(f"no demo corpus at {DEMO_DIR}; building it (needs `make system-deps`)")
    command = [sys.executable, "-m", "tools.demo_corpus", str(DEMO_DIR)]
    subprocess.run(command, check=True, cwd=REPO, env=child_env())


def demo_sources() -> list[Source]:
    """The demo files in a fixed order, with rate and channels from its CORPUS.json.

    Read from the JSON rather than the audio so that this process never imports numpy: a
    child's ru_maxrss starts at its parent's RSS (see README), so the parent stays small.
    """
    listing = json.loads((DEMO_DIR / "CORPUS.json").read_text(encoding="utf-8"))["files"]
    sources = [
        Source(DEMO_DIR / entry["path"], entry["split"], entry["label"],
               int(entry["sample_rate"]), int(entry["channels"]))
        for entry in sorted(listing, key=lambda entry: entry["path"])
        if Path(entry["path"]).suffix.lower() in AUDIO_SUFFIXES
    ]  # fmt: skip
    missing = [source.path for source in sources if not source.path.is_file()]
    if not sources or missing:
        raise BenchError(f"{DEMO_DIR} is incomplete ({missing[:3]}); rebuild: make demo-data")
    return sources


def sources_digest(sources: Sequence[Source]) -> str:
    # Size and mtime too: a rebuilt demo corpus has new inodes, and old links would be stale.
    digest = hashlib.sha256()
    for source in sources:
        stat = source.path.stat()
        digest.update(f"{source.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: copy (costs disk only)
        shutil.copy2(source, target)


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def build_corpus(root: Path, count: int, sources: Sequence[Source]) -> Path:
    """``count`` files under ``root/corpus``: file i links to source i mod len(sources), named
    ``r<i // len>_<name>`` in the source's split/label directory. Reused when complete."""
    corpus, marker = root / "corpus", root / CORPUS_MARKER
    expected = {"files": count, "sources": sources_digest(sources)}
    # Complete = the marker (written last) matches, and nobody added or removed files since.
    complete = marker.is_file() and json.loads(marker.read_text()) == expected
    if complete and count_files(corpus) == count:
        say(f"reusing {count}-file corpus {corpus.relative_to(REPO)}")
        return corpus
    say(f"building {count}-file corpus {corpus.relative_to(REPO)} (hard links)")
    marker.unlink(missing_ok=True)
    shutil.rmtree(corpus, ignore_errors=True)
    for split in SPLITS:
        for label in LABEL_DIRS:
            (corpus / split / label).mkdir(parents=True)
    for index in range(count):
        source = sources[index % len(sources)]
        name = f"r{index // len(sources):04d}_{source.path.name}"
        link_or_copy(source.path, corpus / source.split / source.label / name)
    marker.write_text(json.dumps(expected))
    return corpus


def write_manifest(corpus: Path, manifest: Path) -> int:
    """The library's own manifest of ``corpus`` (the rows the workflow would extract)."""
    from fraudprep.datasets.folder import scan_for_tree
    from fraudprep.manifest import write_manifest as write_rows

    manifest.parent.mkdir(parents=True, exist_ok=True)
    return write_rows(scan_for_tree(corpus), manifest)


def read_manifest_rows(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def evenly_spaced(rows: Sequence[Any], count: int) -> list[Any]:
    """``count`` rows spread over the whole table, so every split and format is represented."""
    if count >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // count] for i in range(count)]


def write_subset_manifest(manifest: Path, count: int, target: Path) -> int:
    rows = evenly_spaced(read_manifest_rows(manifest), count)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Running and measuring processes.


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """A process's own peak RSS (VmHWM). Unlike ru_maxrss it starts from zero at exec, so it
    does not include the RSS of the parent that started the process."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the process has gone
        return None
    return None


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, all processes)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.3) -> None:
    """Wait (at most ``max_wait_s``) until other processes use less than ``threshold_cores``:
    on a shared 2-core machine one busy neighbour halves a measurement."""
    deadline = time.monotonic() + max_wait_s
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        busy = busy_cpu_seconds() - before
        if busy < threshold_cores or time.monotonic() >= deadline:
            if busy >= threshold_cores:
                say(f"   machine still busy ({busy:.1f} cores used by others); measuring anyway")
            return
        say(f"   waiting for the machine to quieten ({busy:.1f} cores used by others)")
        time.sleep(4.0)


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``, from every thread's /proc children list (no /proc scan)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                children.extend(int(child) for child in handle.read().split())
    except OSError:  # gone, or a thread ended between listdir and open
        pass
    return children


def job_role(pid: int) -> str:
    """Which rule a snakemake job process runs, from its script's name."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().decode(errors="replace")
    except OSError:
        return "other"
    for role in ("extract_features", "aggregate_batches", "build_manifest", "split_chunks"):
        if f".{role}.py" in command:
            return role
    return "other"


class TreeMonitor(threading.Thread):
    """Polls a process tree's VmHWM (each process's true peak so far) every ``interval`` s.

    Snakemake's benchmark files sample RSS too rarely to see a job that lasts a fraction of a
    second (the aggregate job), and the jobs' own ru_maxrss includes snakemake's RSS. Reads a
    few small /proc files per process per poll, to stay out of the measurement.
    """

    def __init__(self, root_pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.interval = root_pid, interval
        # (pid, role) -> peak MB. The role is read at every poll: a job's pid shows the
        # forking snakemake's command line and memory until it execs its script.
        self.peaks: dict[tuple[int, str], float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            pending = [self.root_pid]
            while pending:
                pid = pending.pop()
                pending.extend(child_pids(pid))
                self._sample(pid)

    def _sample(self, pid: int) -> None:
        role = "snakemake" if pid == self.root_pid else job_role(pid)
        peak = vm_hwm_mb(pid)
        if peak is not None:
            self.peaks[(pid, role)] = max(peak, self.peaks.get((pid, role), 0.0))

    def by_role(self, role: str) -> list[float]:
        return [peak for (_, name), peak in self.peaks.items() if name == role]


@dataclass
class Usage:
    """One finished process tree: wall seconds from launch, CPU seconds of the process and of
    every descendant it waited for (wait4), its peak RSS, and the CPU other processes on the
    machine used meanwhile (in cores)."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    log: Path
    launched_at: float = 0.0  # epoch seconds, to place the jobs' benchmark files in time
    other_load: float = 0.0
    tree: TreeMonitor | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON line a worker prints last, if any."""
        lines = [line for line in self.log.read_text().splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def child_env() -> dict[str, str]:
    env = {**os.environ, **THREAD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def run_measured(
    commands: Sequence[list[str]], logs: Sequence[Path], monitor: bool = False
) -> list[Usage]:
    """Start all commands at once, wait for each with wait4 to get its own rusage, and stop
    any still running if one fails or the bench is interrupted (no process left behind)."""
    env = child_env()
    running: dict[int, tuple[int, subprocess.Popen, TreeMonitor | None]] = {}
    results: list[Usage | None] = [None] * len(commands)
    busy_before, started, launched_at = busy_cpu_seconds(), time.perf_counter(), time.time()
    try:
        for index, (command, log) in enumerate(zip(commands, logs, strict=True)):
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "w", encoding="utf-8") as handle:
                # A session of its own, so that a cleanup kill reaches snakemake's jobs too.
                process = subprocess.Popen(
                    command, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                    start_new_session=True,
                )  # fmt: skip
            tree = TreeMonitor(process.pid) if monitor else None
            if tree:
                tree.start()
            running[process.pid] = (index, process, tree)
        while running:
            pid, status, rusage = os.wait4(-1, 0)
            if pid not in running:
                continue
            index, process, tree = running.pop(pid)
            process.returncode = os.waitstatus_to_exitcode(status)
            if tree:
                tree.stopped.set()
                tree.join()
            if process.returncode != 0:
                raise BenchError(
                    f"{' '.join(commands[index][:4])} ... exited with {process.returncode}; "
                    f"see {logs[index]}"
                )
            results[index] = Usage(
                wall_s=time.perf_counter() - started,
                launched_at=launched_at,
                cpu_s=rusage.ru_utime + rusage.ru_stime,
                peak_rss_mb=rusage.ru_maxrss / MB,
                log=logs[index],
                tree=tree,
            )
    finally:
        for _, process, tree in running.values():
            with contextlib.suppress(ProcessLookupError):  # it may have just exited
                os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            if tree:
                tree.stopped.set()
    usages = [usage for usage in results if usage is not None]
    wall = max(usage.wall_s for usage in usages)
    other = busy_cpu_seconds() - busy_before - sum(usage.cpu_s for usage in usages)
    for usage in usages:
        usage.other_load = max(0.0, other / wall)
    return usages


# ---------------------------------------------------------------------------------------------
# The three measured pipelines.


@dataclass
class Result:
    """One measured run, as a row of the results table."""

    name: str
    files: int
    processes: int
    usages: list[Usage]
    loop_s_per_process: list[float] = field(default_factory=list)
    own_peaks_mb: list[float] = field(default_factory=list)  # VmHWM the processes reported

    @property
    def wall_s(self) -> float:
        return max(usage.wall_s for usage in self.usages)

    @property
    def cpu_s(self) -> float:
        return sum(usage.cpu_s for usage in self.usages)

    @property
    def peak_rss_mb(self) -> float:
        """The largest process: its own VmHWM when it reported one, else wait4's ru_maxrss."""
        if self.own_peaks_mb:
            return max(self.own_peaks_mb)
        return max(usage.peak_rss_mb for usage in self.usages)

    @property
    def other_load(self) -> float:
        return self.usages[0].other_load

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s

    @property
    def per_process_rate(self) -> float:
        """Files per second of one process: each process's files over its own wall time."""
        share = self.files / len(self.usages)
        return statistics.mean(share / usage.wall_s for usage in self.usages)

    @property
    def cpu_ms_per_file(self) -> float:
        return 1000 * self.cpu_s / self.files

    @property
    def loop_ms_per_file(self) -> float | None:
        """In-process time per file, without interpreter start-up and imports."""
        if not self.loop_s_per_process:
            return None
        return 1000 * sum(self.loop_s_per_process) / self.files


def best_of(repeat: int, max_wait_s: float, measure: Callable[[], Any]) -> Any:
    """Run ``measure`` ``repeat`` times after waiting for a quiet machine; keep the fastest
    (noise from other processes only ever adds time)."""
    best = None
    for _ in range(repeat):
        wait_for_quiet(max_wait_s)
        result = measure()
        outcome = result.result if isinstance(result, WorkflowRun) else result
        if (
            best is None
            or outcome.wall_s < (best.result if isinstance(best, WorkflowRun) else best).wall_s
        ):
            best = result
    return best


def seed_profile(model: str) -> tuple[dict, int]:
    """The seed-style pipeline's settings for ``model``: its fraudprep profile, and batch size."""
    settings, _ = _settings_and_limits(model)
    keys = ("sample_rate", "duration", "trim_top_db", "n_fft", "hop_length", "n_mels",
            "height", "width", "channels")  # fmt: skip
    return {key: getattr(settings.profile, key) for key in keys}, settings.batch_size


def run_seed(subset: Path, files: int, workdir: Path, label: str, model: str = MODEL) -> Result:
    """a: the seed-style librosa loop over the ``subset`` manifest, one process."""
    output = workdir / "seed-out"
    shutil.rmtree(output, ignore_errors=True)
    profile, batch_size = seed_profile(model)
    command = [sys.executable, str(SEED_SCRIPT), str(subset), str(output),
               "--batch-size", str(batch_size), "--profile", json.dumps(profile)]  # fmt: skip
    say(f"a  seed reference (librosa), {model}, {files} files of {label}")
    [usage] = run_measured([command], [workdir / f"seed-{model}.log"])
    shutil.rmtree(output, ignore_errors=True)  # 0.6 MB per file; only the time matters
    summary = usage.summary()
    if summary.get("failures"):
        raise BenchError(f"the seed reference failed on {summary['failures']} files; see log")
    return Result(
        f"a seed (librosa), {model}, {label}", files, 1, [usage], [summary["loop_s"]],
        [summary["peak_rss_mb"]],
    )  # fmt: skip


def run_single(subset: Path, files: int, workdir: Path, label: str, model: str) -> Result:
    """b1: extract_chunk over the same ``subset`` as a, one process, as a is."""
    output = workdir / "single-out"
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, __file__, "_extract", str(subset), "0", str(files), str(output),
               model]  # fmt: skip
    say(f"b1 plain extract_chunk, {model}, one process, {files} files of {label}")
    [usage] = run_measured([command], [workdir / f"single-{model}.log"])
    shutil.rmtree(output, ignore_errors=True)
    summary = usage.summary()
    return Result(
        f"b1 extract_chunk, {model}, {label}", files, 1, [usage], [summary["loop_s"]],
        [summary["peak_rss_mb"]],
    )  # fmt: skip


def run_plain(manifest: Path, files: int, workdir: Path, label: str) -> Result:
    """b: extract_chunk over each half of the manifest, two processes side by side."""
    halves = [(0, files // 2), (files // 2, files)]
    commands, logs = [], []
    for index, (start, stop) in enumerate(halves):
        output = workdir / f"plain-out-{index}"
        shutil.rmtree(output, ignore_errors=True)
        commands.append(
            [sys.executable, __file__, "_extract", str(manifest), str(start), str(stop),
             str(output)]
        )  # fmt: skip
        logs.append(workdir / f"plain-{index}.log")
    say(f"b  plain extract_chunk, 2 processes over halves of {label}")
    usages = run_measured(commands, logs)
    for index in range(len(halves)):
        shutil.rmtree(workdir / f"plain-out-{index}", ignore_errors=True)
    summaries = [usage.summary() for usage in usages]
    return Result(
        f"b plain extract_chunk, {label}", files, 2, usages,
        [summary["loop_s"] for summary in summaries],
        [summary["peak_rss_mb"] for summary in summaries],
    )  # fmt: skip


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
    busy = sum(span.end - span.start for span in extract) / (2 * (extract_end - extract_start))
    return phases, busy


def snakemake_command(
    workdir: Path, corpus: Path, chunk_size: int, *extra: str, models: Sequence[str] = (MODEL,)
) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--configfile", str(REPO / "config.yaml"),
        "--workflow-profile", str(REPO / "profiles" / "default"),
        "--directory", str(workdir), "--cores", "2", *extra,
        "--config", f"input_dir={corpus}", f"models=[{','.join(models)}]",
        f"chunk_size={chunk_size}",
    ]  # fmt: skip


def read_tsv_column(path: Path, column: str) -> float | None:
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    values = [float(row[column]) for row in rows if row.get(column) not in (None, "", "NA")]
    return max(values) if values else None


def job_log_peaks(log_dir: Path) -> list[float]:
    peaks = []
    for log in sorted(log_dir.glob("*.log")):
        found = PEAK_LINE.findall(log.read_text(errors="replace"))
        if found:
            peaks.append(float(found[-1]))  # the last run's line, if the job was retried
    return peaks


def run_workflow(corpus: Path, files: int, chunk_size: int, label: str) -> WorkflowRun:
    workdir = BENCH_ROOT / "runs" / f"workflow-N{files}-chunk{chunk_size}"
    shutil.rmtree(workdir, ignore_errors=True)  # fresh: nothing to reuse, nothing to resume
    workdir.mkdir(parents=True)
    say(f"c  snakemake --cores 2, chunk_size {chunk_size}, {label}")
    [usage] = run_measured(
        [snakemake_command(workdir, corpus, chunk_size)], [workdir / "snakemake.log"], True
    )
    out = workdir / "data" / "preprocessed"  # logs and Snakemake benchmarks live in it
    benchmarks = out / "benchmarks" / "extract_features"  # one job a chunk, every model
    tsvs = sorted(benchmarks.glob("*.tsv"))
    tree = usage.tree
    assert tree is not None
    run = WorkflowRun(
        files=files,
        chunk_size=chunk_size,
        result=Result(f"c snakemake, chunk_size {chunk_size}, {label}", files, 2, [usage]),
        job_log_peak_mb=job_log_peaks(out / "logs" / "extract_features"),
        job_tsv_rss_mb=[v for t in tsvs if (v := read_tsv_column(t, "max_rss")) is not None],
        job_hwm_mb=tree.by_role("extract_features"),
        job_seconds=[v for t in tsvs if (v := read_tsv_column(t, "s")) is not None],
        aggregate_tsv_rss_mb=read_tsv_column(
            out / "benchmarks" / "aggregate_batches" / f"{MODEL}.tsv", "max_rss"
        ),
        aggregate_hwm_mb=max(tree.by_role("aggregate_batches"), default=None),
        snakemake_hwm_mb=max(tree.by_role("snakemake"), default=None),
    )
    run.phases, run.extraction_busy = workflow_phases(job_spans(out / "benchmarks"), usage)
    # The batches (0.6 MB per file) are not needed once measured; logs and benchmarks stay.
    for model_dir in out.glob("*/"):
        if model_dir.name not in ("logs", "benchmarks"):
            shutil.rmtree(model_dir, ignore_errors=True)
    return run


# ---------------------------------------------------------------------------------------------
# Workers: run as `bench.py _extract ...` / `bench.py _profile ...` in their own processes.


def _import_library() -> None:
    sys.path.insert(0, str(REPO / "src"))


def _settings_and_limits(model: str = MODEL) -> tuple[Any, Any]:
    import yaml

    from fraudprep.extract import ReadLimits
    from fraudprep.profiles import resolve_model_settings

    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    limits = ReadLimits(
        min_duration=float(config.get("min_duration", 0.0)),
        max_input_seconds=float(config.get("max_input_seconds", 60.0)),
    )
    return resolve_model_settings(config, model), limits


def _chunk_for(manifest: str, start: int, stop: int, index: int) -> Any:
    from fraudprep.chunks import Chunk, chunk_id

    return Chunk(chunk_id(index), start, stop)


def worker_extract(
    manifest: str, start: str, stop: str, output_dir: str, model: str = MODEL
) -> None:
    """b's and b1's process: the library's extract_chunk over manifest rows start:stop."""
    import logging

    began = time.perf_counter()
    _import_library()
    from fraudprep.extract import extract_chunk

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings, limits = _settings_and_limits(model)
    chunk = _chunk_for(manifest, int(start), int(stop), 0 if int(start) == 0 else 1)
    loop_started = time.perf_counter()
    extract_chunk(manifest, chunk, settings, output_dir, limits)
    loop_s = time.perf_counter() - loop_started
    summary = {
        "files": chunk.size,
        "setup_s": loop_started - began,
        "loop_s": loop_s,
        "peak_rss_mb": vm_hwm_mb(),
    }
    print(json.dumps(summary), flush=True)


# Cumulative time of these functions (file name suffix, function name) is the stage breakdown.
OUR_STAGES = (
    ("decode + resample (load_mono)", "audio_io.py", "load_mono"),
    ("  soundfile read", "soundfile.py", "read"),
    ("  soxr resample", "soxr/__init__.py", "resample"),
    ("  header check (_wav_header_problem)", "audio_io.py", "_wav_header_problem"),
    ("features (MelImageExtractor)", "features.py", "__call__"),
    ("  trim_silence", "features.py", "trim_silence"),
    ("  power_spectrogram (STFT)", "features.py", "power_spectrogram"),
    ("  unit_db", "features.py", "unit_db"),
    ("finite check + stats (ChunkStats.add_sample)", "stats.py", "add_sample"),
    ("batch write (BatchAccumulator.add)", "store.py", "add"),
    ("system memory check", "memory.py", "check_system_memory"),
)
SEED_STAGES = (
    ("librosa.load (decode + resample)", "core/audio.py", "load"),
    ("  resample", "core/audio.py", "resample"),
    ("librosa.effects.trim", "effects.py", "trim"),
    ("melspectrogram", "feature/spectral.py", "melspectrogram"),
    ("  stft", "core/spectrum.py", "stft"),
    ("power_to_db", "core/spectrum.py", "power_to_db"),
    ("scipy.ndimage.zoom", "ndimage/_interpolation.py", "zoom"),
    ("pickle batches (write_batch)", "seed_reference.py", "write_batch"),
)


def profile_summary(stats: Any, files: int, stages: Sequence[tuple[str, str, str]]) -> dict:
    """Top self-time functions and the stage breakdown, in ms per file."""
    table = stats.stats  # {(file, line, function): (calls, ncalls, self, cumulative, callers)}
    total = sum(entry[2] for entry in table.values())
    top = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:12]
    breakdown = []
    for name, suffix, function in stages:
        seconds = sum(
            entry[3]
            for (path, _, func), entry in table.items()
            if func == function and path.replace(os.sep, "/").endswith(suffix)
        )
        breakdown.append((name, 1000 * seconds / files))
    return {
        "files": files,
        "total_ms_per_file": 1000 * total / files,
        "top": [
            (f"{Path(path).name}:{line}({func})", entry[1], 1000 * entry[2] / files)
            for (path, line, func), entry in top
        ],
        "stages": breakdown,
    }


def worker_profile(manifest: str, count: str, workdir: str) -> None:
    """cProfile our extract_chunk and the seed's loop over the same evenly spaced files."""
    import cProfile
    import logging
    import pstats

    _import_library()
    from fraudprep.extract import extract_chunk
    from fraudprep.manifest import iter_manifest
    from fraudprep.manifest import write_manifest as write_rows

    logging.basicConfig(level=logging.WARNING)
    work = Path(workdir)
    rows = evenly_spaced(list(iter_manifest(manifest)), int(count))
    subset = work / "profile-manifest.csv"
    write_rows(rows, subset)
    settings, limits = _settings_and_limits()
    sys.path.insert(0, str(SEED_SCRIPT.parent))
    import seed_reference

    # Warm both up on one file: first calls pay lazy imports and librosa's numba compilation,
    # which would otherwise be a large part of a 200-file profile. The steady state matters.
    warm = work / "profile-warm-up"
    extract_chunk(str(subset), _chunk_for(str(subset), 0, 1, 0), settings, warm, limits)
    shutil.rmtree(warm, ignore_errors=True)
    seed_reference.seed_features(rows[0].path)

    chunk = _chunk_for(str(subset), 0, len(rows), 0)
    profiler = cProfile.Profile()
    profiler.runcall(extract_chunk, str(subset), chunk, settings, work / "profile-out", limits)
    ours = profile_summary(pstats.Stats(profiler), len(rows), OUR_STAGES)
    shutil.rmtree(work / "profile-out", ignore_errors=True)
    profiler = cProfile.Profile()
    profiler.runcall(seed_reference.run, subset, work / "profile-seed-out", 8)
    seed = profile_summary(pstats.Stats(profiler), len(rows), SEED_STAGES)
    shutil.rmtree(work / "profile-seed-out", ignore_errors=True)
    print(json.dumps({"ours": ours, "seed": seed}), flush=True)


# ---------------------------------------------------------------------------------------------
# Scale: snakemake -n on a very large tree.


@dataclass
class ScaleResult:
    files: int
    dry_run_cold: Usage
    manifest_and_chunks: Usage
    dry_run_full: Usage
    planned_jobs: int | None


def planned_jobs(log: Path) -> int | None:
    found = re.findall(r"^total\s+(\d+)\s*$", log.read_text(errors="replace"), re.MULTILINE)
    return int(found[-1]) if found else None


def run_scale(files: int, sources: Sequence[Source], chunk_size: int) -> ScaleResult:
    corpus = build_corpus(BENCH_ROOT / f"N{files}", files, sources)
    workdir = BENCH_ROOT / "runs" / f"dryrun-N{files}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    base = snakemake_command(workdir, corpus, chunk_size)
    say(f"scale: snakemake -n on {files} files, before the manifest exists")
    [cold] = run_measured([[*base, "-n"]], [workdir / "dryrun-cold.log"])
    say("scale: build_manifest + split_chunks + resolve_settings for real")
    targets = ["data/preprocessed/chunks.csv", f"data/preprocessed/{MODEL}/settings.json"]
    [prepare] = run_measured([[*base, "--", *targets]], [workdir / "prepare.log"])
    say("scale: snakemake -n again, with every extraction job known")
    [full] = run_measured([[*base, "-n"]], [workdir / "dryrun-full.log"])
    return ScaleResult(files, cold, prepare, full, planned_jobs(workdir / "dryrun-full.log"))


# ---------------------------------------------------------------------------------------------
# Report: one table on stdout, results.md and results.png.


@dataclass
class Report:
    files: int
    default_chunk: int
    seed_files: int
    results: list[Result] = field(default_factory=list)
    workflows: dict[tuple[int, int], WorkflowRun] = field(default_factory=dict)
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


@dataclass
class ModelsRun:
    """The default four-model run against one run per model, on the same N files."""

    files: int
    one_model_s: dict[str, float]
    all_models_s: float
    identical: dict[str, bool]  # each model's outputs, byte for byte, in both

    @property
    def ratio(self) -> float:
        return self.all_models_s / sum(self.one_model_s.values())


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
    runs = report.workflows.values()
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
        # (a's files are evenly spaced over the main corpus, whose files every size repeats).
        for files, chunk in sorted(report.workflows):
            if chunk == report.default_chunk:
                rows.extend(_end_to_end(report.workflows[(files, chunk)], pair, files))
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


def _end_to_end(
    run: WorkflowRun, pair: tuple[Result, Result], files: int
) -> list[tuple[str, str, str, str]]:
    seed_s = pair[0].wall_s * files / pair[0].files  # a, scaled to all N files
    ratio = seed_s / run.result.wall_s
    target = TARGET_END_TO_END if files < 20_000 else TARGET_END_TO_END_LARGE
    ideal_s = files * pair[1].loop_ms_per_file / 1000 / 2
    ideal = run.result.wall_s / ideal_s
    ideal_target = TARGET_IDEAL_RATIO if files < 20_000 else TARGET_IDEAL_RATIO_LARGE
    return [
        (
            f"end to end: seed pipeline (a, one process, scaled to N={files}) / "
            f"snakemake --cores 2 (c, {MODEL})",
            f"{ratio:.2f}x ({seed_s:.1f} s / {run.result.wall_s:.1f} s)",
            f"≥ {target:.0f}x", status(ratio >= target),
        ),
        (
            f"end to end: snakemake wall / (N x b1 in-loop ms / 2 cores), N={files}",
            f"{ideal:.2f} ({run.result.wall_s:.1f} s / {ideal_s:.1f} s)",
            f"≤ {ideal_target:.2f}", status(ideal <= ideal_target),
        ),
    ]  # fmt: skip


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
            str(files),
            str(chunk),
            str(len(run.job_seconds)),
            max_and_median(run.job_log_peak_mb),
            max_and_median(run.job_tsv_rss_mb),
            max_and_median(run.job_hwm_mb),
            fmt(max(run.job_seconds, default=None), 2),
            f"{fmt(run.aggregate_tsv_rss_mb)} / {fmt(run.aggregate_hwm_mb)}",
            fmt(run.snakemake_hwm_mb),
        )
        for (files, chunk), run in sorted(report.workflows.items())
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
            str(files),
            str(chunk),
            fmt(run.result.wall_s, 2),
            *(fmt(run.phases.get(name), 2) for name in names),
            "—" if run.extraction_busy is None else f"{100 * run.extraction_busy:.0f} %",
            fmt(report.plain[files].wall_s if files in report.plain else None, 2),
        )
        for (files, chunk), run in sorted(report.workflows.items())
    ]
    return md_table(headers, rows)


def scale_table(scale: ScaleResult | None, chunk: int) -> str:
    if scale is None:
        return "Not measured in this run (`make bench BENCH_ARGS=--scale`)."
    rows = [
        (
            "`snakemake -n`, no manifest yet (scans the tree once)",
            fmt(scale.dry_run_cold.wall_s, 2),
            fmt(scale.dry_run_cold.peak_rss_mb),
        ),
        (
            "build_manifest + split_chunks + resolve_settings (real run)",
            fmt(scale.manifest_and_chunks.wall_s, 2),
            fmt(scale.manifest_and_chunks.peak_rss_mb),
        ),
        (
            f"`snakemake -n`, manifest and chunks known ({scale.planned_jobs} jobs planned, "
            f"chunk_size {chunk})",
            fmt(scale.dry_run_full.wall_s, 2),
            fmt(scale.dry_run_full.peak_rss_mb),
        ),
    ]
    return f"{scale.files:,} files (hard links).\n\n" + md_table(
        ("step", "wall s", "peak RSS MB"), rows
    )


def profile_section(profile: dict | None) -> str:
    if profile is None:
        return "Not measured in this run (`--no-profile`)."
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


def render_markdown(report: Report) -> str:
    times = "once" if report.repeat == 1 else f"the fastest of {report.repeat} runs"
    return "\n".join(
        [
            "# fraudprep benchmark results",
            "",
            f"Written by `{report.command}` in {report.wall_s / 60:.1f} min. Every figure is as "
            f"measured on this machine ({times}, after waiting for other processes to go "
            "quiet); how to read them: [README.md](README.md).",
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
            "whole workflow (`snakemake --cores 2`, fresh working directory).",
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


def plot(report: Report, path: Path) -> None:
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


# ---------------------------------------------------------------------------------------------
# The benchmark.


def parse_sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def default_chunk_size() -> int:
    import yaml

    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        return int(yaml.safe_load(handle)["chunk_size"])


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    return parser.parse_args(argv)


def check_plotting() -> None:
    # Fail before minutes of measuring, not after; without importing it (keeps this process
    # small until the end, see demo_sources).
    if importlib.util.find_spec("matplotlib") is None:
        raise BenchError("matplotlib is needed for results.png: .venv/bin/pip install matplotlib")


def record(report: Report, measure: Callable[[], Any]) -> Any:
    """Measure (best of ``--repeat`` on a quiet machine), add the row and say how it went."""
    outcome = best_of(report.repeat, report.max_wait_s, measure)
    result = outcome.result if isinstance(outcome, WorkflowRun) else outcome
    report.results.append(result)
    say(
        f"   {result.wall_s:.2f} s, {result.files_per_s:.1f} files/s, peak RSS "
        f"{result.peak_rss_mb:.1f} MB, others used {result.other_load:.2f} cores meanwhile"
    )
    return outcome


def measure_size(report: Report, sources: list[Source], files: int, chunks: list[int]) -> None:
    """b and c (at each chunk size) on an N-file corpus; a too when N is the main size."""
    corpus = build_corpus(BENCH_ROOT / f"N{files}", files, sources)
    workdir = BENCH_ROOT / "runs" / f"plain-N{files}"
    manifest = workdir / "manifest.csv"
    write_manifest(corpus, manifest)
    label = f"N={files}"
    report.plain[files] = record(report, lambda: run_plain(manifest, files, workdir, label))
    for chunk in chunks:
        report.workflows[(files, chunk)] = record(
            report, lambda c=chunk: run_workflow(corpus, files, c, label)
        )


def speed_file_sets(report: Report, sources: list[Source], group_files: int) -> list:
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


def measure_speedups(report: Report, sources: list[Source], group_files: int) -> None:
    """a and b1 for every seed profile on every file set, one process each."""
    for name, manifest, files in speed_file_sets(report, sources, group_files):
        for model in SEED_MODELS:
            args = (manifest, files, manifest.parent, name, model)
            seed = record(report, lambda a=args: run_seed(*a))
            ours = record(report, lambda a=args: run_single(*a))
            report.speedups[(model, name)] = (seed, ours)
            if model == MODEL and name.startswith("mixed"):
                report.seed_main = seed


def model_digests(out: Path, model: str) -> dict[str, str]:
    """SHA-256 of every file of one model's outputs (batches, metadata, stats, chunks)."""
    root = out / model
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".snakemake_timestamp"
    }


def run_models_comparison(corpus: Path, files: int, chunk_size: int) -> ModelsRun:
    """snakemake over ``corpus`` for each model alone, then for all four in one run (one
    decode a file for all of them): wall times, and whether every output is the same."""

    def run(name: str, models: Sequence[str]) -> tuple[float, dict[str, dict[str, str]]]:
        workdir = BENCH_ROOT / "runs" / f"models-N{files}-{name}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        say(f"c  snakemake --cores 2, models {','.join(models)}, N={files}")
        command = snakemake_command(workdir, corpus, chunk_size, models=models)
        [usage] = run_measured([command], [workdir / "snakemake.log"])
        out = workdir / "data" / "preprocessed"
        digests = {model: model_digests(out, model) for model in models}
        shutil.rmtree(workdir / "data", ignore_errors=True)  # GBs of batches, now hashed
        return usage.wall_s, digests

    alone, alone_digests = {}, {}
    for model in ALL_MODELS:
        alone[model], digests = run(model, [model])
        alone_digests.update(digests)
    together_s, together_digests = run("all", ALL_MODELS)
    identical = {m: alone_digests[m] == together_digests[m] for m in ALL_MODELS}
    return ModelsRun(files, alone, together_s, identical)


def run_profile(report: Report, files: int) -> None:
    workdir = BENCH_ROOT / "runs" / f"plain-N{report.files}"
    say(f"profile: cProfile over {files} evenly spaced files, ours and the seed's")
    wait_for_quiet(report.max_wait_s)
    manifest = str(workdir / "manifest.csv")
    command = [sys.executable, __file__, "_profile", manifest, str(files), str(workdir)]
    [usage] = run_measured([command], [workdir / "profile.log"])
    report.profile = usage.summary()


def time_snakemake_import(report: Report) -> None:
    """Importing snakemake discovers its plugins; some probe the system (the slurm executor
    plugin runs `scontrol show config`, 10 s timeout). Every workflow run pays this."""
    log = BENCH_ROOT / "runs" / "snakemake-import.log"
    [usage] = run_measured([[sys.executable, "-c", "import snakemake.cli"]], [log])
    report.snakemake_import_s.append(usage.wall_s)
    say(f"importing snakemake takes {usage.wall_s:.2f} s")


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    default_chunk = default_chunk_size()
    chunks = parse_sizes(args.chunk_sizes) if args.chunk_sizes else [default_chunk, 512, 4000]
    chunks = list(dict.fromkeys([default_chunk, *chunks]))  # the default first, no repeats
    report = Report(
        files=args.files,
        default_chunk=default_chunk,
        seed_files=args.seed_files,
        repeat=args.repeat,
        max_wait_s=args.max_wait,
        command=" ".join(["benchmarks/bench.py", *argv]),
    )
    check_plotting()
    sys.path.insert(0, str(REPO / "src"))
    ensure_demo_corpus()
    sources = demo_sources()
    time_snakemake_import(report)
    measure_size(report, sources, args.files, chunks)
    measure_speedups(report, sources, args.group_files)
    corpus = build_corpus(BENCH_ROOT / f"N{args.files}", args.files, sources)
    wait_for_quiet(report.max_wait_s)
    report.models = run_models_comparison(corpus, args.files, default_chunk)
    for files in parse_sizes(args.sizes):
        if files != args.files:
            measure_size(report, sources, files, [default_chunk])
    if args.profile_files:
        run_profile(report, args.profile_files)
    if args.scale:
        wait_for_quiet(report.max_wait_s)
        report.scale = run_scale(args.scale_files, sources, default_chunk)
    time_snakemake_import(report)
    report.wall_s = time.perf_counter() - began
    report.bench_peak_mb = vm_hwm_mb()
    RESULTS_MD.write_text(render_markdown(report), encoding="utf-8")
    plot(report, RESULTS_PNG)
    print(runs_table(report))
    print()
    print(speedup_table(report))
    print()
    print(targets_table(report))
    say(
        f"done in {report.wall_s / 60:.1f} min; wrote {RESULTS_MD.relative_to(REPO)} and "
        f"{RESULTS_PNG.relative_to(REPO)}"
    )
    return 0


WORKERS: dict[str, Callable[..., None]] = {"_extract": worker_extract, "_profile": worker_profile}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in WORKERS:
        WORKERS[sys.argv[1]](*sys.argv[2:])
        sys.exit(0)
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        say(f"failed: {error}")
        sys.exit(1)
