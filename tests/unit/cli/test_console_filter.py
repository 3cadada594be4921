"""cli/console.py and cli/run.py: what of Snakemake's output reaches the quiet console, the
jobs' progress read from their logs, and which runs keep Snakemake's whole output."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest

from fraudprep.cli.console import LINE_CHARS, Console, run_quietly
from fraudprep.cli.run import informing, working_directory

# Snakemake 9's output for a job started, finished, and the run's chatter around it.
SNAKEMAKE_START = """\
Using workflow specific profile profiles/default for setting default command line arguments.
Config file config.yaml is extended by additional config specified via the command line.
Assuming unrestricted shared filesystem usage.
SNAKEMAKE
=========
  Date: 2026-12-07 12:38:07
  Config MD5: c692b016680fe115546f270a8a191c40
Building DAG of jobs...
Using shell: /usr/bin/bash
Provided cores: 2
Rules claiming more threads will be scaled down.
Conda environments: ignored
Job stats:
job                   count
------------------  -------
extract_features          1
all                       1
total                     2

Select jobs to execute...
Execute 1 jobs...

[Mon Dec  7 12:38:08 2026]
localrule extract_features:
    input: out/manifest.csv, out/chunks.json
    output: out/resnet/chunks/chunk-00000
    log: out/logs/extract_features/chunk-00000.log
    jobid: 31
    reason: Missing output files: out/resnet/chunks/chunk-00000
    wildcards: chunk=chunk-00000
    resources: tmpdir=/tmp
"""
SNAKEMAKE_END = """\
[Mon Dec  7 12:38:10 2026]
Finished jobid: 31 (Rule: extract_features)
1 of 2 steps (50%) done
fraudprep: a warning of the workflow's own
fraudprep outputs in out/:
  resnet: 20 files: 19 ok, 1 failed — see out/resnet/failures.csv
Complete log(s): /work/.snakemake/log/2026-12-07T123807.857047.snakemake.log
Elapsed time: 0:00:11.347683
"""


def log_line(text: str, level: str = "INFO", at: float | None = None) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() if at is None else at))
    return f"{stamp},123 {level} {text}\n"


def progress(done: int, failures: int = 0) -> str:
    return log_line(
        f"chunk-00000: file {done} of 20, 4.0 files/s, about {(20 - done) // 4} s left, "
        f"{failures} failure{'' if failures == 1 else 's'}, 90.00 MB"
    )


@pytest.fixture
def console(tmp_path: Path):
    printed: list[str] = []
    now = [0.0]
    view = Console(printed.append, tmp_path, print_seconds=10.0, clock=lambda: now[0])
    log = tmp_path / "out" / "logs" / "extract_features" / "chunk-00000.log"
    log.parent.mkdir(parents=True)
    # An earlier run's lines in the same log (logs are appended to): never shown.
    log.write_text(log_line("chunk-00000: file 20 of 20, 9.0 files/s", at=time.time() - 3600))
    return view, printed, log, now


def feed(view: Console, text: str) -> None:
    for line in text.splitlines(keepends=True):
        view.line(line)


def test_the_console_has_progress_warnings_and_the_summary_not_the_chatter(console):
    view, printed, log, now = console
    feed(view, SNAKEMAKE_START)
    assert printed == []
    with open(log, "a") as handle:
        handle.write(log_line("Initial memory usage: 68.91 MB") + progress(1))
        handle.flush()
        view.poll()
        handle.write(progress(5))
        handle.flush()
        now[0] = 5.0
        view.poll()  # not due yet
        handle.write(log_line("Failed a.wav: not audio", "WARNING") + progress(10, 1))
        handle.write(log_line("system memory at 91%", "WARNING"))
        handle.flush()
        now[0] = 10.0
        view.poll()
        handle.write(progress(20, 1) + log_line("Peak memory usage: 90.86 MB"))
    feed(view, SNAKEMAKE_END)
    view.finish()
    assert printed == [
        "  chunk-00000: started, 20 files",
        "  warning: system memory at 91%",
        "  chunk-00000: file 10 of 20, 4.0 files/s, about 2 s left, 1 failure",
        "  chunk-00000: 20 files done, 4.0 files/s, 1 failure; 1 of 2 steps done",
        "fraudprep: a warning of the workflow's own",
        "fraudprep outputs in out/:",
        "  resnet: 20 files: 19 ok, 1 failed — see out/resnet/failures.csv",
        "Complete log(s): /work/.snakemake/log/2026-12-07T123807.857047.snakemake.log",
    ]


def test_errors_and_unknown_lines_pass_long_lines_are_cut(console):
    view, printed, _, _ = console
    paths = ", ".join(f"out/resnet/chunks/chunk-{i:05d}" for i in range(100))
    feed(
        view,
        "[Mon Dec  7 12:38:10 2026]\nError in rule extract_features:\n    message: None\n"
        f"    input: {paths}\n    log: out/logs/x.log (check log file(s) for error details)\n"
        "Shutting down, this might take some time.\nSomething Snakemake says one day\n",
    )
    assert printed[0] == "Error in rule extract_features:"
    assert printed[2].startswith("    input: out/resnet/chunks/chunk-00000, ")
    assert printed[2].endswith(f"... ({len(paths) + 11 - LINE_CHARS} more characters)")
    assert len(printed[2]) < LINE_CHARS + 30
    assert printed[-2:] == ["Shutting down, this might take some time.",
                            "Something Snakemake says one day"]  # fmt: skip


def test_a_jobs_warnings_are_capped(console):
    view, printed, log, _ = console
    feed(view, SNAKEMAKE_START)
    with open(log, "a") as handle:
        for index in range(8):
            handle.write(log_line(f"odd thing {index}", "WARNING"))
    view.poll()
    assert printed == [f"  warning: odd thing {i}" for i in range(5)] + [
        f"  (more warnings in {log})"
    ]


@pytest.mark.parametrize(
    ("options", "informs"),
    [
        (["--config", "listing=a.csv"], False),
        (["-n"], True),
        (["-np", "--config", "x=1"], True),
        (["-p", "--cores", "2"], False),
        (["--lint"], True),
        (["--quiet", "rules"], True),
        (["--verbose"], True),
        (["--summary"], True),
        (["--cores=2", "--", "-n"], False),
        (["-c2"], False),
    ],
)
def test_runs_that_inform_keep_snakemakes_output(options, informs):
    assert informing(options) is informs


def test_the_working_directory_is_snakemakes(tmp_path):
    assert working_directory(["--directory", str(tmp_path)]) == tmp_path
    assert working_directory([f"--directory={tmp_path}", "-n"]) == tmp_path
    assert working_directory(["-d", "w"]) == Path("w")
    assert working_directory(["--cores", "2"]) == Path.cwd()


def test_snakemakes_whole_output_is_kept_and_its_status_returned(tmp_path):
    script = (
        "import sys; print('Building DAG of jobs...'); print('fraudprep: one line', "
        "file=sys.stderr); sys.exit(3)"
    )
    console = io.StringIO()
    status = run_quietly([sys.executable, "-c", script], tmp_path, console)
    assert status == 3
    lines = console.getvalue().splitlines()
    assert lines[0] == f"fraudprep run: {Path(sys.executable).name} -c {script}"
    [full] = (tmp_path / ".snakemake" / "log").glob("*.fraudprep-run.log")
    assert lines[1:] == [
        f"  Snakemake's whole output: {full} (fraudprep run --full-output prints it here)",
        "fraudprep: one line",
    ]
    assert full.read_text() == "Building DAG of jobs...\nfraudprep: one line\n"
