"""``fraudprep run``'s Snakemake process under the quiet console: its output (stdout and stderr,
merged) read on a thread, written whole to a file under ``.snakemake/log/`` and fed line by line
to :class:`fraudprep.cli.console.Console`, which is polled for the jobs' progress while
Snakemake is quiet. Ctrl-C reaches Snakemake from the terminal; SIGTERM and SIGHUP are passed
on; an interrupted run ends with the shell's status for an interrupted command (130).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from fraudprep.cli.console import PRINT_SECONDS, Console
from fraudprep.cli.errors import INTERRUPTED

# Job logs are read this often while Snakemake is quiet.
POLL_SECONDS = 0.5


def full_output_path(workdir: Path) -> Path:
    """Where this run's whole Snakemake output goes, beside Snakemake's own logs."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S.%f")
    return workdir / ".snakemake" / "log" / f"{stamp}.fraudprep-run.log"


def run_quietly(
    command: Sequence[str],
    workdir: Path,
    console: TextIO | None = None,
    print_seconds: float = PRINT_SECONDS,
) -> int:
    """Run ``command`` (snakemake), its whole output to a file and the quiet console to
    ``console``; return its exit status. Ctrl-C reaches Snakemake from the terminal as ever
    (it is in this process's group); SIGTERM and SIGHUP sent to this process are passed on.
    After Ctrl-C the console says so in one line and the status is :data:`INTERRUPTED`."""
    console = sys.stdout if console is None else console
    full = full_output_path(workdir)
    full.parent.mkdir(parents=True, exist_ok=True)

    def write(text: str) -> None:
        print(text, file=console, flush=True)

    write(f"fraudprep run: {' '.join(_shown_command(command))}")
    write(f"  Snakemake's whole output: {full} (fraudprep run --full-output prints it here)")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the Snakefile's prints arrive in order
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, bufsize=0
    )
    view = Console(write, workdir, print_seconds=print_seconds)
    restore = _pass_signals_to(process, view)
    lines: queue.Queue[bytes | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        with open(full, "w", encoding="utf-8") as kept:
            while True:
                try:
                    raw = lines.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    view.poll()
                    continue
                if raw is None:
                    break
                text = raw.decode("utf-8", "replace")
                kept.write(text)
                kept.flush()
                view.line(text)
        status = process.wait()
        view.finish()
    finally:
        restore()
    if view.interrupted and status != 0:
        return INTERRUPTED
    return status if status >= 0 else 128 - status


def _read_lines(stream, lines: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw)
    lines.put(None)


def _shown_command(command: Sequence[str]) -> list[str]:
    name = Path(command[0]).name
    return [name, *command[1:]]


def _pass_signals_to(process: subprocess.Popen, view: Console) -> Callable[[], None]:
    """SIGTERM and SIGHUP to this process go on to ``process``; SIGINT only marks the run
    interrupted (the terminal sends it to Snakemake too, which then ends its jobs and exits)."""
    before = {}

    def forward(number, frame):
        process.send_signal(number)

    def interrupted(number, frame):
        view.interrupted = True

    for number, handler in (
        (signal.SIGTERM, forward),
        (signal.SIGHUP, forward),
        (signal.SIGINT, interrupted),
    ):
        with contextlib.suppress(ValueError):  # not the main thread: left as they are
            before[number] = signal.signal(number, handler)

    def restore() -> None:
        for number, handler in before.items():
            signal.signal(number, handler)

    return restore
