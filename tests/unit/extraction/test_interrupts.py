"""Ctrl-C or SIGTERM at any moment ends an extraction job promptly and publishes nothing half
done. An interrupt that landed while the background sync thread started once left the job
waiting on that thread for good (Snakemake waited 11 minutes for it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers import REPO, write_audio

from fraudprep.inputs.chunks import write_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest
from fraudprep.run.settings import resolve_model_settings

FILES = 120
# Seconds after the job is ready (imports done) at which the signal lands: the first batch
# write and the start of the sync thread come within the first few milliseconds.
DELAYS = (0.0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.25, 0.4)
PROMPT = 20  # seconds: a job that takes longer to die is hanging

JOB = """
import json, sys
from fraudprep.inputs.chunks import read_chunks
from fraudprep.extraction.extract import extract_chunk
from fraudprep.run.settings import ModelSettings
manifest, chunks, settings, target = sys.argv[1:]
(chunk,) = read_chunks(chunks)
settings = ModelSettings.from_dict(json.loads(settings))
print("ready", flush=True)
extract_chunk(manifest, chunk, settings, target)
"""


@pytest.fixture(scope="module")
def job_inputs(tmp_path_factory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("interrupts")
    for i in range(FILES):
        write_audio(root / "tree" / "training" / "real" / f"{i}.wav", seconds=1.0, seed=i)
    build_manifest(root / "manifest.csv", DatasetConfig(input_dir=str(root / "tree")))
    write_chunks(root / "manifest.csv", FILES, root / "chunks.csv")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    # One sample a batch: a batch file, and a background sync, for every input file.
    settings = resolve_model_settings({**config, "batch_size": 1}, "resnet")
    return root / "manifest.csv", root / "chunks.csv", json.dumps(settings.as_dict())


def interrupted_job(job_inputs, target: Path, signum: int, delay: float) -> tuple[int, float]:
    """Start a job in its own process group, signal the group ``delay`` s after it is ready;
    return its exit status and how long it took to die."""
    manifest, chunks, settings = job_inputs
    job = subprocess.Popen(
        [sys.executable, "-c", JOB, str(manifest), str(chunks), settings, str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
        start_new_session=True,
    )  # fmt: skip
    assert job.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.killpg(job.pid, signum)
    signalled = time.monotonic()
    try:
        status = job.wait(timeout=PROMPT)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        pytest.fail(
            f"{signal.Signals(signum).name} at {delay} s: the job still ran {PROMPT} s later"
        )
    return status, time.monotonic() - signalled


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_at_any_moment_ends_the_job_and_publishes_nothing_partial(
    job_inputs, tmp_path: Path, signum: int
):
    for delay in DELAYS:
        target = tmp_path / f"{delay}" / "chunk"
        status, _ = interrupted_job(job_inputs, target, signum, delay)
        if status == 0:  # finished before the signal: then it must be complete
            assert (target / "chunk.json").exists()
            continue
        assert status in (-signum, 128 + signum, 1), (delay, status)
        # Interrupted: the chunk is absent, or complete if the signal came after publishing;
        # never half there. Scratch folders are the only other leftovers.
        assert not target.exists() or (target / "chunk.json").exists(), delay
        # A signal at once can end the job before it has made even the parent folder.
        siblings = target.parent.iterdir() if target.parent.exists() else []
        leftovers = [p.name for p in siblings if p != target]
        assert all(".partial-" in name for name in leftovers), (delay, leftovers)
