"""What a run says on the console: warnings (an empty split, leakage) and one-line errors (a
read-only output_dir, too many failures) instead of tracebacks and retries."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from helpers import TREE_RUN, run_tree, snakemake_command

OUT = "data/preprocessed"


def test_a_read_only_output_dir_is_one_line(workdir: Path, sealable_disk):
    """Once a traceback: OSError: [Errno 30] Read-only file system: '.../provenance/...'."""
    mount, seal = sealable_disk
    finished, empty = mount / "finished", mount / "empty"
    run_tree(workdir, f"output_dir={finished}")
    empty.mkdir()
    seal()
    # Nothing to do: nothing to write, so a finished read-only output_dir is fine.
    assert "Nothing to be done" in run_tree(workdir, f"output_dir={finished}")
    for output_dir, change in ((empty, ()), (finished, ("chunk_size=2",))):
        run = subprocess.run(
            snakemake_command(workdir, "--cores", "2", "--config", *TREE_RUN, "models=[unetr]",
                              f"output_dir={output_dir}", *change),
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        said = run.stdout + run.stderr
        assert run.returncode != 0
        assert "Traceback" not in said, said[-3000:]
        assert f"fraudprep: cannot write outputs under {output_dir}" in said
        assert "Read-only file system" in said


def test_an_empty_split_is_warned_about_on_the_console(workdir: Path):
    shutil.rmtree(workdir / "corpus" / "validation")
    output = run_tree(workdir)
    assert "warning: validation has no samples" in output


def test_a_run_bound_to_fail_is_not_retried(workdir: Path):
    for i in range(3):
        (workdir / "corpus" / "training" / "fake" / f"empty {i}.wav").write_bytes(b"")
    run = subprocess.run(
        snakemake_command(workdir, "--cores", "2", "--config", *TREE_RUN, "models=[unetr]"),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "3 of 14 files failed" in output
    assert "Traceback" not in output  # one fraudprep: line says what to do
    assert "restart" not in output.lower()  # Snakemake's "Trying to restart job" on a retry
    # The message names a table that is still there (Snakemake removed failures.csv).
    kept = workdir / OUT / "unetr" / "failures-of-the-failed-run.csv"
    assert str(kept.relative_to(workdir)) in output
    assert kept.read_text().count("empty file (0 bytes)") == 3
    assert not (workdir / OUT / "unetr" / "failures.csv").exists()


def test_leakage_reaches_the_console(workdir: Path):
    """Identical audio in two splits used to be said only in the job's log."""
    corpus = workdir / "corpus"
    shutil.copyfile(corpus / "training" / "real" / "spk1 clip1.wav",
                    corpus / "testing" / "real" / "copied.wav")  # fmt: skip
    output = run_tree(workdir)
    assert "warning: identical audio across splits or labels" in output
    assert "leakage.csv" in output


def test_fatal_leakage_is_one_line(workdir: Path):
    """fail_on_leakage stops the manifest job: the console says why in one fraudprep: line,
    without the job's stack of frames."""
    corpus = workdir / "corpus"
    shutil.copyfile(corpus / "training" / "real" / "spk1 clip1.wav",
                    corpus / "testing" / "real" / "copied.wav")  # fmt: skip
    run = subprocess.run(
        snakemake_command(workdir, "--cores", "2", "--config", *TREE_RUN, "models=[unetr]",
                          "fail_on_leakage=true"),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Traceback" not in output, output[-3000:]
    said = {line for line in output.splitlines() if line.startswith("fraudprep: ")}
    kept = workdir / OUT / "leakage-of-the-failed-run.csv"
    assert said == {
        "fraudprep: 1 group(s) of identical audio cross splits or labels (fail_on_leakage is "
        f"set); every one is listed in {kept.relative_to(workdir)}; remove the copies or unset "
        "fail_on_leakage"
    }, output[-3000:]
    assert "copied.wav" in kept.read_text()  # Snakemake removed leakage.csv, not this
