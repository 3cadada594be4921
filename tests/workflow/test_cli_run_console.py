"""``fraudprep run`` and ``fraudprep info`` on a real run: a run started from outside the
checkout with --snakefile and --directory; info on deleted and cut batch files and on unreadable
statistics; the summary of a run stopped short with --until; a failed job, an unknown option and
Ctrl-C on the quiet console, each a few lines."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, build_tree

import fraudprep
from fraudprep.outputs.verify import DamagedOutputError

MODELS = "models=[unetr,resnet]"


def fraudprep_run(cwd: Path, work: Path, tree: Path, out: Path, *more: str, **popen):
    """``fraudprep run`` from ``cwd`` with the checkout's Snakefile named by --snakefile."""
    command = [
        sys.executable, "-m", "fraudprep.cli", "run", "--cores", "2",
        "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
        "--configfile", str(REPO / "config.yaml"), "--config", f"input_dir={tree}",
        f"output_dir={out}", MODELS, "chunk_size=4", "report_figures=false", *more,
    ]  # fmt: skip
    if popen:
        return subprocess.Popen(command, cwd=cwd, **popen)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def info(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fraudprep.cli", "info", str(out)],
        cwd=out.parent, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict[str, Path]:
    """A run started outside the checkout: --directory and --snakefile say where things are."""
    root = tmp_path_factory.mktemp("run_console")
    tree = build_tree(root / "for")
    (tree / "training/real/broken.wav").write_bytes(b"RIFF" + b"\x00" * 60)
    work, out = root / "work", root / "out"
    work.mkdir()
    done = fraudprep_run(root, work, tree, out, "max_failure_fraction=0.5")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "  unetr: 12 files: 11 ok, 1 failed" in done.stdout
    return {"root": root, "tree": tree, "work": work, "out": out}


def copy_of(finished: dict[str, Path], name: str) -> Path:
    copy = finished["root"] / name
    shutil.copytree(finished["out"], copy)
    return copy


def test_run_from_outside_the_checkout_with_directory(finished, tmp_path):
    """-d naming the checkout is where the Snakefile is looked for, after the working
    directory (Snakemake itself looks there only)."""
    done = subprocess.run(
        [sys.executable, "-m", "fraudprep.cli", "run", "-n", "--directory", str(REPO),
         "--config", f"input_dir={finished['tree']}", f"output_dir={tmp_path / 'dry'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no Snakefile" not in done.stderr
    assert "This was a dry-run" in done.stdout + done.stderr


def test_info_says_a_deleted_or_cut_batch_file(finished):
    out = copy_of(finished, "deleted")
    (out / "unetr" / "validation_batch_0.pkl").unlink()
    with open(out / "resnet" / "training_batch_1.pkl", "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(DamagedOutputError):
        fraudprep.load(out, "unetr", "validation")
    done = info(out)
    assert done.returncode == 0, done.stderr
    assert "matches manifest" not in done.stdout
    for model in ("unetr", "resnet"):
        row = next(line for line in done.stdout.splitlines() if line.startswith(f"  {model} "))
        assert row.endswith("damaged: 1 batch file missing or cut short; rerun to rebuild them")
    assert f"    unetr: {out}/unetr/validation_batch_0.pkl is missing" in done.stdout
    assert f"    resnet: {out}/resnet/training_batch_1.pkl has 100 bytes where " in done.stdout


def test_info_names_unreadable_statistics_and_a_rerun_rebuilds_them(finished):
    out = copy_of(finished, "cut_stats")
    stats = out / "resnet" / "dataset_stats.pkl"
    stats.write_bytes(stats.read_bytes()[:50])
    done = info(out)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = [line for line in done.stdout.splitlines() if str(stats) in line]
    assert line.endswith("; delete it and rerun to rebuild it")
    # what it says to do works
    stats.unlink()
    work = finished["root"] / "work_cut_stats"
    work.mkdir()
    rerun = fraudprep_run(finished["root"], work, finished["tree"], out, "max_failure_fraction=0.5")
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert "  resnet: 12 files: 11 ok, 1 failed" in rerun.stdout
    assert "damaged" not in info(out).stdout


def test_a_run_stopped_before_the_models_does_not_summarise_them_as_its_own(finished):
    out = copy_of(finished, "until")
    work = finished["root"] / "work_until"
    work.mkdir()
    done = fraudprep_run(
        finished["root"], work, finished["tree"], out, "max_failure_fraction=0.5",
        "--until", "build_manifest", "--forceall",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert " ok, " not in done.stdout
    for model in ("unetr", "resnet"):
        assert f"  {model}: outputs of an earlier run, not current (manifest.csv" in done.stdout
    assert "rerun without --until" in done.stdout


def test_a_failed_job_is_a_few_lines(finished):
    work = finished["root"] / "work_failed"
    work.mkdir()
    out = finished["root"] / "failed"
    done = fraudprep_run(
        finished["root"], work, finished["tree"], out, "max_failure_fraction=0.01", "models=[unetr]"
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    errors = [line for line in lines if line.startswith("fraudprep: 1 of 12 files failed")]
    assert len(errors) == 1, done.stdout
    at = lines.index("Error in rule aggregate_batches:")
    assert lines[at + 1].startswith(f"    log: {out}/logs/aggregate_batches/unetr.log; its last ")
    assert not [line for line in lines if "RuleException" in line or "=====" in line]
    assert not [line for line in lines if "input: " in line or "Removing output" in line]
    assert len(lines) <= 2 + 5 + 1 + 2 + 10 + 1, done.stdout  # start, chunks, error, log, tail


def test_an_unknown_option_is_one_line_and_where_the_options_are(finished):
    work = finished["root"] / "work_bogus"
    work.mkdir()
    done = fraudprep_run(finished["root"], work, finished["tree"], finished["out"], "--bogus-opt")
    assert done.returncode != 0
    assert done.stdout.splitlines()[2:] == [
        "snakemake: error: unrecognized arguments: --bogus-opt",
        "  see fraudprep run --full-output --help for Snakemake's options",
    ]


def test_ctrl_c_is_one_line_and_status_130(tmp_path):
    files = [
        (split, label, f"{split}_{label}_{i}.wav", 2.0, 16000, 1)
        for split in ("training", "validation", "testing")
        for label in ("real", "fake")
        for i in range(150)
    ]
    tree = build_tree(tmp_path / "big", files)
    work = tmp_path / "work"
    work.mkdir()
    process = fraudprep_run(
        tmp_path, work, tree, tmp_path / "out", "chunk_size=1000", "models=[resnet]",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    seen = []
    for line in process.stdout:
        seen.append(line.rstrip("\n"))
        if line.endswith(" files\n") and ": started, " in line:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal's whole group
            break
    seen += process.stdout.read().splitlines()
    assert process.wait(timeout=120) == 130, seen
    assert seen[-1] == "fraudprep: interrupted; rerun the same command to resume", seen
    assert not [line for line in seen if "Traceback" in line or "Exception" in line], seen
