"""``fraudprep run``'s console (issue 27, item 2): a start line, each chunk's progress, the
warnings and the summary, a few dozen lines at most; Snakemake's whole output in a file and one
option away; the job logs' progress lines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, build_tree

from fraudprep.cli.console import LINE_CHARS

DONE = re.compile(
    r"^  (chunk-\d+): \d+ files done, [\d.]+ files/s, (\d+) failures?; \d+ of \d+ steps done$"
)
JOB_PROGRESS = re.compile(
    r"INFO (chunk-\d+): file (\d+) of (\d+), [\d.]+ files/s, about \d+ s left, (\d+) failures?, "
    r"[\d.]+ MB$"
)


def fraudprep_run(
    work: Path, tree: Path, out: Path, *config: str, option: str = "--cores=2"
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fraudprep.cli", "run", option, "--directory", str(work),
         "--configfile", str(REPO / "config.yaml"), "--config", f"input_dir={tree}",
         f"output_dir={out}", "models=[unetr,resnet]", "chunk_size=4", "report_figures=false",
         *config],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("console")
    tree = build_tree(root / "for")
    (tree / "training/real/broken.wav").write_bytes(b"RIFF" + b"\x00" * 60)
    work, out = root / "work", root / "out"
    work.mkdir()
    done = fraudprep_run(work, tree, out, "max_failure_fraction=0.5")
    return {"done": done, "tree": tree, "work": work, "out": out}


def test_the_console_is_short_with_progress_and_the_summary(quiet_run):
    done = quiet_run["done"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert done.stderr == ""  # Snakemake's stderr comes through stdout, in order
    assert len(lines) <= 40, done.stdout
    assert lines[0].startswith("fraudprep run: snakemake --cores=2 --directory ")
    full = Path(lines[1].split("Snakemake's whole output: ")[1].split(" (")[0])
    assert full.parent == quiet_run["work"] / ".snakemake" / "log"
    assert "localrule extract_features:" in full.read_text()  # all of it is kept
    # Each chunk's end, with its failures: the broken file is the one failure.
    ends = [DONE.match(line) for line in lines if DONE.match(line)]
    chunks = sorted(
        path.stem for path in (quiet_run["out"] / "logs" / "extract_features").glob("*.log")
    )
    assert sorted(end[1] for end in ends) == chunks
    assert sum(int(end[2]) for end in ends) == 1
    summary = lines.index(next(line for line in lines if line.startswith("fraudprep outputs in")))
    assert lines[summary + 1].startswith("  unetr: 12 files: 11 ok, 1 failed")
    assert lines[-1].startswith("Complete log(s): ")
    assert not [line for line in lines if "reason:" in line or "localrule" in line]
    assert max(len(line) for line in lines) < LINE_CHARS + 40


def test_job_logs_say_file_i_of_n_rate_time_left_and_failures(quiet_run):
    logs = sorted((quiet_run["out"] / "logs" / "extract_features").glob("*.log"))
    assert logs
    for log in logs:
        progress = [JOB_PROGRESS.search(line) for line in log.read_text().splitlines()]
        progress = [match for match in progress if match]
        # the first file and the last at least; at most one line every 2 s between
        assert progress[0][2] == "1" and progress[-1][2] == progress[-1][3], log.read_text()
        assert len(progress) <= 2 + 10


def test_full_output_is_one_option_away_and_a_rerun_says_nothing_to_do(quiet_run):
    args = (quiet_run["work"], quiet_run["tree"], quiet_run["out"])
    full = fraudprep_run(*args, "max_failure_fraction=0.5", option="--full-output")
    assert full.returncode == 0
    assert "Building DAG of jobs" in full.stderr  # snakemake's own console, as by hand
    quiet = fraudprep_run(*args, "max_failure_fraction=0.5")
    assert quiet.returncode == 0
    lines = quiet.stdout.splitlines()
    assert "Building DAG of jobs..." not in lines
    assert "Nothing to be done (all requested files are present and up to date)." in lines
    assert len(lines) <= 5, quiet.stdout


def test_a_failed_run_shows_the_error_on_the_quiet_console(quiet_run, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    failed = fraudprep_run(work, quiet_run["tree"], tmp_path / "out", "max_failure_fraction=0.01")
    assert failed.returncode != 0
    # Errors pass through the quiet console: the failed job's rule and its log's last words.
    assert "Error in rule aggregate_batches:" in failed.stdout.splitlines()
    assert "more than max_failure_fraction 1.0%" in failed.stdout
