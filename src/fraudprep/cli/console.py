"""``fraudprep run``'s console: Snakemake's output read, kept and cut to what a user needs.

Snakemake prints a block per job (with ``reason:`` lists of ~100 paths), a progress line per
step and a header: 399 lines for the demo, the summary that matters in the last dozen. Here
its output (stdout and stderr, merged) is read line by line: every line goes to a file under
``.snakemake/log/``, and the console gets

* a start line, and where Snakemake's whole output is;
* the progress of the running jobs, read from their logs: each job's progress lines
  (:func:`fraudprep.base.logs.progress_line`: file i of N, rate, time left, failures) as a
  start line, then at most one line every :data:`PRINT_SECONDS`, and an end line;
* warnings the jobs log (not each failed file: the failures count says those);
* everything Snakemake prints that is not its usual chatter: ``fraudprep:`` lines (each
  once), the run summary, the ``Complete log(s)`` line. What this module does not know passes
  through: an unknown message is never hidden;
* a failed job bounded: its rule, its log's path and the log's last :data:`LOG_TAIL_LINES`
  lines, not Snakemake's exception block nor the whole log; a job's traceback as its last
  line; for an option Snakemake does not know, its one error line, not its whole usage;
* after Ctrl-C, one line (:data:`INTERRUPTED_LINE`) instead of the jobs' tracebacks.

This module is the filter, fed one line at a time (:class:`Console`); Snakemake's process, its
whole output file and the signals are :mod:`fraudprep.cli.quiet_run`'s.
"""

from __future__ import annotations

import datetime
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# A job's progress is printed at most this often (its start and end lines always).
PRINT_SECONDS = 10.0
# A job's warnings printed at most: the rest are in its log.
WARNINGS_PER_JOB = 5
# Lines longer than this are cut on the console (they are whole in the full output).
LINE_CHARS = 400

# A failed job's log: its last lines on the console (all of it in the file).
LOG_TAIL_LINES = 10
INTERRUPTED_LINE = "fraudprep: interrupted; rerun the same command to resume"
FULL_HELP = "see fraudprep run --full-output --help for Snakemake's options"

# Snakemake's chatter: dropped from the console (kept in the full output).
CHATTER = re.compile(
    r"^(Using workflow specific profile|Config file .* is extended|Assuming unrestricted "
    r"shared filesystem|Building DAG of jobs|Using shell:|Provided cores:|Provided resources:|"
    r"Rules claiming more threads|Conda environments: ignored|Singularity containers: ignored|"
    r"Select jobs to execute|Execute \d+ jobs|Updating checkpoint dependencies|"
    r"DAG of jobs will be updated|Elapsed time:|host: |"
    r"\d+ of \d+ steps \(\d+%\) done|\[\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\]$)"
)
JOB_HEADER = re.compile(r"^(local)?(rule|checkpoint) (?P<rule>\w+):$")
JOB_STATS_ROW = re.compile(r"^(job\s+count|-+\s+-+|\S+\s+\d+)$")
FINISHED = re.compile(r"^Finished jobid: (?P<jobid>\d+) ")
STEPS = re.compile(r"^(?P<done>\d+) of (?P<total>\d+) steps \(\d+%\) done$")
ERROR_HEADER = re.compile(r"^Error in rule (?P<rule>\w+):$")
LOG_SEPARATOR = "=" * 80
# What Snakemake adds around a failed job, said by the error block already: dropped.
FAILURE_CHATTER = re.compile(
    r"^(Shutting down, this might take some time\.|Exiting because a job execution failed|"
    r"Terminating processes on user request|Logfile .* not found\.$)"
)
# Lines that start a message of their own: the end of a block being dropped.
BLOCK_END = re.compile(
    r"^(Error in rule |(local)?(rule|checkpoint) \w+:$|Logfile |Removing output files |"
    r"Shutting down|Exiting because|Complete log|WorkflowError:|Terminating processes|"
    r"Traceback |fraudprep|\[\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\]$)"
)
# A progress line of a job log (fraudprep.base.logs.progress_line, after the log's time and
# level): "2026-12-07 12:38:09,268 INFO chunk-00000: file 150 of 150, 80.3 files/s, ..."
LOG_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ (?P<level>[A-Z]+) (?P<text>.*)$"
)
PROGRESS = re.compile(
    r"^(?P<what>.+?): file (?P<done>\d+) of (?P<total>\d+), (?P<rate>[\d.]+) files/s, "
    r"(?P<left>.+?) left(?:, (?P<failures>\d+) failures?)?"
)
# Per-file failures, counted in the progress lines rather than printed one by one.
FILE_FAILURE = re.compile(r"^(Failed |Augmented copy \d+ of )")


@dataclass
class FollowedLog:
    """A running job's log, read for progress and warnings from where it stood at the start."""

    path: Path
    since: float  # the job's start (time.time()): older lines are an earlier run's
    offset: int = 0
    what: str = ""
    done: int = -1
    total: int = 0
    rate: str = ""
    left: str = ""
    failures: int | None = None
    printed_done: int = -1
    printed_at: float = 0.0
    warnings: int = 0

    def new_lines(self) -> Iterator[str]:
        """Whole lines written since the last read."""
        try:
            with open(self.path, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                if size < self.offset:  # rewritten
                    self.offset = 0
                handle.seek(self.offset)
                data = handle.read(size - self.offset)
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self.offset += end
        yield from data[:end].decode("utf-8", "replace").splitlines()


@dataclass
class Console:
    """Turns Snakemake's output into the quiet console (see the module's description)."""

    write: Callable[[str], None]
    workdir: Path
    print_seconds: float = PRINT_SECONDS
    clock: Callable[[], float] = time.monotonic
    jobs: dict[str, FollowedLog] = field(default_factory=dict)
    steps: str = ""
    interrupted: bool = False  # Ctrl-C: the rest of Snakemake's output stays in the file
    _state: str = "lines"
    _job: dict[str, str] = field(default_factory=dict)
    _finished: list[str] = field(default_factory=list)
    _error: dict[str, str] = field(default_factory=dict)
    _separators: int = 0
    _shown: set[str] = field(default_factory=set)

    # --- Snakemake's lines ------------------------------------------------------------------

    def line(self, text: str) -> None:
        """One line of Snakemake's output."""
        if self.interrupted:
            return
        text = text.rstrip("\n")
        if self._state == "job" and text.startswith("    "):
            key, _, value = text.strip().partition(": ")
            self._job[key] = value
            if key == "jobid":  # after log: the job may be running already
                self._start_job()
                self._state = "job"  # the rest of its block
            return
        if self._state == "job":
            self._start_job()
        if self._failure_line(text):
            return
        if self._state == "header" and (text.startswith(("  ", "=")) or not text.strip()):
            return
        if self._state == "stats" and (JOB_STATS_ROW.match(text) or not text.strip()):
            return
        self._state = "lines"
        header = JOB_HEADER.match(text)
        if header:
            self._state, self._job = "job", {"rule": header["rule"]}
            return
        if text == "SNAKEMAKE":
            self._state = "header"
            return
        if text == "Job stats:":
            self._state = "stats"
            return
        finished = FINISHED.match(text)
        if finished:
            self._finished.append(finished["jobid"])
            return
        steps = STEPS.match(text)
        if steps:
            self.steps = f"{steps['done']} of {steps['total']} steps"
            self._end_jobs()
            return
        if not text.strip() or CHATTER.match(text):
            return
        self.emit(text)

    def _failure_line(self, text: str) -> bool:
        """A line of what Snakemake prints around a failure (an error block, the failed job's
        log, an exception, its usage): True when handled here."""
        state = self._state
        if state == "error":
            if text.startswith("    "):
                key, _, value = text.strip().partition(": ")
                self._error[key] = value
                return True
            self._end_error()
        elif state == "logfile":  # the failed job's whole log, between two separators
            self._separators += text == LOG_SEPARATOR
            if self._separators >= 2:
                self._state = "lines"
            return True
        elif state == "removing":  # the list of files after "Removing output files..."
            self._state = "lines"
            return True
        elif state in ("exception", "traceback"):
            if state == "traceback" and text.startswith(" "):
                return True
            if state == "traceback" and text.strip():
                # the exception's own line ends a traceback
                self._state = "lines"
                self.emit(f"job error: {text.strip()} (its traceback: in Snakemake's whole output)")
                return True
            if not BLOCK_END.match(text):
                return True
            self._state = "lines"
        elif state == "workflow_error":
            self._state = "lines"
            if text.strip() == "At least one job did not complete successfully.":
                return True  # the error blocks said which
            self.emit("WorkflowError:")
        elif state == "usage":
            if text.startswith("snakemake: error: "):
                self._state = "lines"
                self.emit(text)
                self.emit(f"  {FULL_HELP}")
            return True
        header = ERROR_HEADER.match(text)
        if header:
            self.emit(text)
            self._state, self._error = "error", {}
            return True
        if text.startswith("Logfile ") and text.endswith(":"):
            self._state, self._separators = "logfile", 0
            return True
        if text.startswith("Removing output files of failed job"):
            self._state = "removing"
            return True
        if text == "RuleException:":
            self._state = "exception"
            return True
        if text.startswith("Traceback (most recent call last):"):
            self._state = "traceback"
            return True
        if text == "WorkflowError:":
            self._state = "workflow_error"
            return True
        if text.startswith("usage: snakemake "):
            self._state = "usage"
            return True
        return bool(FAILURE_CHATTER.match(text))

    def _end_error(self) -> None:
        """The failed job's log path and the log's last lines, once its block is read."""
        self._state = "lines"
        message = self._error.get("message", "None")
        if message not in ("None", ""):
            self.emit(f"    message: {message}")
        log = self._error.get("log", "").split(" (check log file")[0].split(", ")[0].strip()
        if not log:
            return
        path = Path(log) if Path(log).is_absolute() else self.workdir / log
        lines = _last_lines(path)
        if lines is None:
            self.emit(f"    log: {log} (not written)")
            return
        tail = [line for line in lines[-LOG_TAIL_LINES:] if line.strip() not in self._shown]
        shown = f"its last {len(tail)} lines" if tail else "nothing new in its last lines"
        more = f" (of {len(lines)})" if len(lines) > LOG_TAIL_LINES else ""
        self.emit(f"    log: {log}; {shown}{more}:" if tail else f"    log: {log}")
        for line in tail:
            self.emit(f"      {line}")

    def finish(self) -> None:
        """Snakemake has exited: the end lines of the jobs it said were finished."""
        if self.interrupted:
            self.emit(INTERRUPTED_LINE)
            return
        if self._state == "error":
            self._end_error()
        elif self._state == "workflow_error":
            self.emit("WorkflowError:")
        self._end_jobs()

    def emit(self, text: str) -> None:
        if text.startswith("fraudprep: "):
            if text.strip() in self._shown:  # a job's error line, in its log as well
                return
            self._shown.add(text.strip())
        if len(text) > LINE_CHARS:
            text = f"{text[:LINE_CHARS]}... ({len(text) - LINE_CHARS} more characters)"
        self.write(text)

    def _start_job(self) -> None:
        self._state = "lines"
        log = self._job.get("log", "").split(", ")[0].strip()
        if not log or self._job.get("jobid", log) in self.jobs:
            return
        path = Path(log) if Path(log).is_absolute() else self.workdir / log
        self.jobs[self._job.get("jobid", log)] = FollowedLog(path, since=time.time())

    # --- the jobs' logs ---------------------------------------------------------------------

    def poll(self) -> None:
        """Read the followed logs; print the progress that is due."""
        if self.interrupted:
            return
        for job in self.jobs.values():
            self._read(job)
            self._print_progress(job)

    def _read(self, job: FollowedLog) -> None:
        for text in job.new_lines():
            self._log_line(job, text)

    def _end_jobs(self) -> None:
        """The end line of each job Snakemake has just said is finished, with the steps."""
        for jobid in self._finished:
            job = self.jobs.pop(jobid, None)
            if job is None:
                continue
            self._read(job)
            if job.done < 0:
                continue  # a job without progress lines
            failures = "" if job.failures is None else f", {_failures(job.failures)}"
            steps = f"; {self.steps} done" if self.steps else ""
            self.emit(f"  {job.what}: {job.done} files done, {job.rate} files/s{failures}{steps}")
        self._finished.clear()

    def _log_line(self, job: FollowedLog, text: str) -> None:
        parsed = LOG_LINE.match(text)
        if parsed is None:
            return
        try:
            written = datetime.datetime.strptime(parsed["time"], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return
        if written.timestamp() < job.since - 2:  # an earlier run's line
            return
        message = parsed["text"]
        progress = PROGRESS.match(message)
        if progress:
            job.what, job.total = progress["what"], int(progress["total"])
            job.done, job.rate, job.left = int(progress["done"]), progress["rate"], progress["left"]
            failures = progress["failures"]
            job.failures = None if failures is None else int(failures)
            return
        if parsed["level"] in ("WARNING", "ERROR") and not FILE_FAILURE.match(message):
            job.warnings += 1
            if job.warnings <= WARNINGS_PER_JOB:
                self.emit(f"  warning: {message}")
            elif job.warnings == WARNINGS_PER_JOB + 1:
                self.emit(f"  (more warnings in {job.path})")

    def _print_progress(self, job: FollowedLog) -> None:
        if job.done < 0 or job.done == job.printed_done:
            return
        now = self.clock()
        failures = "" if job.failures is None else f", {_failures(job.failures)}"
        if job.done == job.total:
            return  # the end line comes when Snakemake says the job finished
        if job.printed_done < 0:
            self.emit(f"  {job.what}: started, {job.total} files")
        elif now - job.printed_at >= self.print_seconds:
            self.emit(
                f"  {job.what}: file {job.done} of {job.total}, {job.rate} files/s, "
                f"{job.left} left{failures}"
            )
        else:
            return
        job.printed_done, job.printed_at = job.done, now


def _last_lines(path: Path, limit: int = 65536) -> list[str] | None:
    """The non-blank lines of the last ``limit`` bytes of a log; None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return None
    lines = data.decode("utf-8", "replace").splitlines()
    if size > limit:
        lines = lines[1:]  # cut in the middle
    return [line for line in lines if line.strip()]


def _failures(count: int) -> str:
    return f"{count} failure{'' if count == 1 else 's'}"
