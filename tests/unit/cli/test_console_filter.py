"""cli/console.py and cli/run.py: what of Snakemake's output reaches the quiet console, the
jobs' progress read from their logs, and which runs keep Snakemake's whole output."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest

from fraudprep.cli.console import LINE_CHARS, Console
from fraudprep.cli.quiet_run import run_quietly
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
Complete log(s): /home/u/fp/.snakemake/log/2026-12-07T123807.857047.snakemake.log
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
        "Complete log(s): /home/u/fp/.snakemake/log/2026-12-07T123807.857047.snakemake.log",
    ]


def test_unknown_lines_pass_long_lines_are_cut(console):
    view, printed, _, _ = console
    long = "x" * (LINE_CHARS + 50)
    feed(view, f"[Mon Dec  7 12:38:10 2026]\nSomething Snakemake says one day\n{long}\n")
    assert printed[0] == "Something Snakemake says one day"
    assert printed[1] == f"{'x' * LINE_CHARS}... (50 more characters)"


# Snakemake 9's output when a job stops the run (the failure threshold), the job's error line
# on stderr first; its log follows, written below by the test.
FAILED_JOB = """\
fraudprep: 1 of 12 files failed (8.3%), more than max_failure_fraction 1.0%; fix the inputs
RuleException:
CalledProcessError in file "/home/user/fraudprep/rules/aggregate.smk", line 26:
Command 'set -euo pipefail;  python /w/.snakemake/scripts/tmp4l.aggregate_batches.py' returned non-zero exit status 1.
[Mon Dec  7 13:22:16 2026]
Error in rule aggregate_batches:
    message: None
    jobid: 4
    input: {paths}
    output: out/resnet/batch_metadata.pkl, out/resnet/dataset_stats.pkl
    log: out/logs/aggregate_batches/resnet.log (check log file(s) for error details)
Logfile out/logs/aggregate_batches/resnet.log:
================================================================================
{log}
================================================================================
Removing output files of failed job aggregate_batches since they might be corrupted:
out/resnet/batch_metadata.pkl, out/resnet/dataset_stats.pkl
Shutting down, this might take some time.
Exiting because a job execution failed. Look above for error messages
Complete log(s): /w/.snakemake/log/2026-12-07T132211.278981.snakemake.log
WorkflowError:
At least one job did not complete successfully.
"""  # noqa: E501


def test_a_failed_job_is_its_error_line_once_its_rule_log_and_the_logs_tail(console):
    view, printed, _, _ = console
    error = FAILED_JOB.splitlines()[0]
    log_lines = [f"2026-12-07 13:22:16,090 INFO line {i}" for i in range(80)] + [error]
    log = view.workdir / "out" / "logs" / "aggregate_batches" / "resnet.log"
    log.parent.mkdir(parents=True)
    log.write_text("\n".join(log_lines) + "\n")
    paths = ", ".join(f"out/resnet/chunks/chunk-{i:05d}" for i in range(100))
    feed(view, FAILED_JOB.format(paths=paths, log="\n".join(log_lines)))
    view.finish()
    assert printed == [
        error,
        "Error in rule aggregate_batches:",
        "    log: out/logs/aggregate_batches/resnet.log; its last 9 lines (of 81):",
        *(f"      2026-12-07 13:22:16,090 INFO line {i}" for i in range(71, 80)),
        "Complete log(s): /w/.snakemake/log/2026-12-07T132211.278981.snakemake.log",
    ]


def test_a_jobs_traceback_is_its_last_line_and_other_workflow_errors_pass(console):
    view, printed, _, _ = console
    feed(
        view,
        'Traceback (most recent call last):\n  File "x.py", line 2, in <module>\n'
        "    import sys\nKeyboardInterrupt\nWorkflowError:\nConfig file is not valid YAML.\n",
    )
    view.finish()
    assert printed == [
        "job error: KeyboardInterrupt (its traceback: in Snakemake's whole output)",
        "WorkflowError:",
        "Config file is not valid YAML.",
    ]


def test_an_unknown_option_is_snakemakes_one_error_line_not_its_usage(console):
    view, printed, _, _ = console
    usage = "usage: snakemake [-h] [--dry-run] [--profile PROFILE]\n" + "    [--x X]\n" * 200
    feed(view, usage + "snakemake: error: unrecognized arguments: --bogus-opt\n")
    assert printed == [
        "snakemake: error: unrecognized arguments: --bogus-opt",
        "  see fraudprep run --full-output --help for Snakemake's options",
    ]


# A snakemake that prints a job's traceback and its exception block on Ctrl-C, as the real one.
INTERRUPTED_SNAKEMAKE = """\
import sys, time
print("ready", flush=True)
try:
    time.sleep(60)
except KeyboardInterrupt:
    print("Terminating processes on user request, this might take some time.")
    print("Traceback (most recent call last):\\n  File 'x.py', line 2\\nKeyboardInterrupt")
    print("RuleException:\\nCalledProcessError in file rules/extract.smk, line 28:")
    print("Error in rule extract_features:\\n    jobid: 7")
    sys.exit(1)
"""


def test_ctrl_c_is_one_line_and_the_shells_status(tmp_path):
    import os
    import signal
    import subprocess

    fake = tmp_path / "fake_snakemake.py"
    fake.write_text(INTERRUPTED_SNAKEMAKE)
    runner = (
        "import sys; from pathlib import Path; from fraudprep.cli.quiet_run import run_quietly; "
        f"sys.exit(run_quietly([sys.executable, {str(fake)!r}], Path({str(tmp_path)!r})))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", runner], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("ready"):
            os.killpg(process.pid, signal.SIGINT)  # as the terminal's Ctrl-C: the whole group
            break
    rest = process.stdout.read().splitlines()
    assert process.wait(timeout=30) == 130
    assert rest == ["fraudprep: interrupted; rerun the same command to resume"], seen + rest


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
