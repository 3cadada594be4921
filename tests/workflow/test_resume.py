"""Kill the workflow for real, rerun the same command, and get byte-identical outputs."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from helpers import snakemake_command, write_audio

ARGS = ("--cores", "2", "--config", "input_dir=corpus", "chunk_size=6",
        "models=[unetr,resnet_low_memory]")  # fmt: skip
CHUNKS_PER_MODEL = 8  # 24 + 12 + 12 files over training/validation/testing, 6 per chunk
OUT = "data/preprocessed"


def command(workdir: Path) -> list[str]:
    return snakemake_command(workdir, *ARGS)


def make_workdir(root: Path, corpus: Path) -> Path:
    root.mkdir()
    (root / "corpus").symlink_to(corpus)
    return root


def digests(workdir: Path) -> dict[str, str]:
    out = workdir / OUT
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        # Snakemake's own marker in directory outputs is bookkeeping, not output; so are the
        # logs and job timings, which differ from run to run.
        if path.is_file()
        and path.name != ".snakemake_timestamp"
        and path.relative_to(out).parts[0] not in ("logs", "benchmarks")
    }


def published_chunks(workdir: Path) -> list[Path]:
    found = (workdir / OUT).glob("*/chunks/*/chunk.json")
    return sorted(path for path in found if ".partial" not in path.parent.name)


def run_to_completion(workdir: Path) -> str:
    result = subprocess.run(command(workdir), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def start(workdir: Path) -> subprocess.Popen:
    # A session of its own, so that a SIGKILL to the group takes the jobs down with it, as a
    # reboot or the OOM killer taking the whole job tree would.
    return subprocess.Popen(
        command(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the workflow finished before the kill point"
        assert time.monotonic() < deadline, "kill point not reached in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for split, n in {"training": 12, "validation": 6, "testing": 6}.items():
        for label in ("real", "fake"):
            for i in range(n):
                write_audio(root / split / label / f"{i}.wav", seconds=2.0 + (i % 5),
                            rate=(16000, 44100)[i % 2], seed=i)  # fmt: skip
    return root


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, corpus: Path) -> dict[str, str]:
    workdir = make_workdir(tmp_path_factory.mktemp("clean") / "run", corpus)
    run_to_completion(workdir)
    assert len(published_chunks(workdir)) == 2 * CHUNKS_PER_MODEL
    return digests(workdir)


def test_sigkill_of_the_whole_run_resumes_to_identical_outputs(tmp_path, corpus, clean_run):
    workdir = make_workdir(tmp_path / "run", corpus)
    finished_before_last_kill: dict[Path, int] = {}
    for kill_point in (3, 12):
        process = start(workdir)
        wait_for(lambda n=kill_point: len(published_chunks(workdir)) >= n, process)
        finished_before_last_kill = {p: p.stat().st_mtime_ns for p in published_chunks(workdir)}
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert len(finished_before_last_kill) < 2 * CHUNKS_PER_MODEL
    log = run_to_completion(workdir)
    assert "Removed the Snakemake lock left by a killed run" in log
    assert digests(workdir) == clean_run
    assert not list((workdir / OUT).rglob("*.partial*"))
    # Chunks finished before the kill are not recomputed; at most those of the two jobs running
    # at the kill (published but not yet recorded as finished by Snakemake; one folder a
    # model) are.
    kept = [p for p, mtime in finished_before_last_kill.items() if p.stat().st_mtime_ns == mtime]
    assert len(kept) >= len(finished_before_last_kill) - 2 * 2


def extraction_job(process: subprocess.Popen) -> psutil.Process | None:
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if any("extract_features" in part for part in child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_sigkill_of_one_extraction_job_is_retried(tmp_path, corpus, clean_run):
    workdir = make_workdir(tmp_path / "run", corpus)
    process = subprocess.Popen(command(workdir), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    victim: list[psutil.Process] = []
    wait_for(lambda: victim.append(extraction_job(process)) or victim[-1] is not None, process)
    victim[-1].kill()
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    assert "Trying to restart job" in output
    assert digests(workdir) == clean_run


def test_rerun_after_success_does_nothing_and_profile_change_reruns(tmp_path, corpus, clean_run):
    workdir = make_workdir(tmp_path / "run", corpus)
    run_to_completion(workdir)
    assert "Nothing to be done" in run_to_completion(workdir)
    changed = subprocess.run([*command(workdir), "memory_mode=low", "-n"], capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert changed.returncode == 0, changed.stderr[-2000:]
    assert "extract_features" in changed.stdout
    assert "Params have changed" in changed.stdout or "params" in changed.stdout.lower()
    # A dry run leaves no changed provenance behind: the unchanged command still does nothing.
    assert "Nothing to be done" in run_to_completion(workdir)
