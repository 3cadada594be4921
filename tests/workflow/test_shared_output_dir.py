"""One output_dir, two runs at once (two working directories, as two checkouts have): the
second is refused naming the first, which finishes whole (the lock of run/outputlock.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from helpers import snakemake_command, write_audio

from fraudprep.run.outputlock import lock_path


def corpus(root: Path, files_per_class: int) -> Path:
    for split in ("training", "validation", "testing"):
        for label in ("real", "fake"):
            for i in range(files_per_class):
                write_audio(root / split / label / f"{i}.wav", seconds=2.0 + i % 5, seed=i)
    return root


def workflow(workdir: Path, out: Path, *args: str) -> list[str]:
    config = ("input_dir=corpus", "report_figures=False", "chunk_size=3", f"output_dir={out}",
              "models=[unetr,resnet_low_memory]")  # fmt: skip
    return snakemake_command(workdir, "--cores", "2", *args, "--config", *config)


FIRST_FILES_PER_CLASS = 20


def test_a_second_run_on_a_live_output_dir_refuses_at_once(tmp_path: Path):
    """Two working directories (as two checkouts have) do not share Snakemake's lock: the
    second run once rewrote the chunk table under the first one's jobs, which died with
    KeyError: "chunk 'chunk-00007' is not in chunks.csv"."""
    out = tmp_path / "shared-outputs"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    # Long enough (40 jobs of 3 files) to outlast the three runs made while it goes: with 16
    # jobs it once ended first on a loaded machine, and the test tested nothing.
    corpus(first_dir / "corpus", FIRST_FILES_PER_CLASS)
    corpus(second_dir / "corpus", 4)
    first = subprocess.Popen(
        workflow(first_dir, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "manifest.csv").exists():  # the first run's jobs have begun
            assert first.poll() is None and time.monotonic() < deadline, "the first never began"
            time.sleep(0.05)
        second = subprocess.run(workflow(second_dir, out), capture_output=True, text=True)
        # In the same directory Snakemake's lock also refuses, but advised --unlock, which
        # would have broken the live run: the holder is named instead.
        same_dir = subprocess.run(workflow(first_dir, out), capture_output=True, text=True)
        dry = subprocess.run(workflow(second_dir, out, "-n"), capture_output=True, text=True)
        still_running = first.poll() is None
    finally:
        output, _ = first.communicate(timeout=600)
    said = second.stdout + second.stderr
    assert second.returncode != 0, "a second run on a live output_dir was let through"
    assert still_running, "the first run ended before the second started: nothing was tested"
    assert f"fraudprep: output_dir {out} is in use by another run (pid {first.pid} on " in said
    assert f"run from {first_dir}" in said and "Traceback" not in said
    assert same_dir.returncode != 0
    assert f"is in use by another run (pid {first.pid} on " in same_dir.stderr
    assert "--unlock" not in same_dir.stdout + same_dir.stderr
    assert dry.returncode == 0, dry.stderr[-2000:]  # a dry run writes nothing: not refused
    assert first.returncode == 0, output[-3000:]
    assert not lock_path(out).exists()  # released at the end
    manifest = (out / "manifest.csv").read_text().splitlines()
    assert len(manifest) == 1 + 6 * FIRST_FILES_PER_CLASS  # the first run's corpus, whole
    again = subprocess.run(workflow(second_dir, out), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len((out / "manifest.csv").read_text().splitlines()) == 1 + 6 * 4
