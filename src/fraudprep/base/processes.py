"""Processes: whether a recorded one is gone (cleaning up after killed runs and jobs), and what
the ones a run starts inherit."""

from __future__ import annotations

import os
import socket

import psutil


def process_is_gone(pid: int, started: float | None = None) -> bool:
    """True when ``pid`` no longer runs: it does not exist, is a zombie (killed but not yet
    reaped, so it holds nothing any more), or is a newer process that reused the pid (its
    start time differs from ``started``)."""
    try:
        process = psutil.Process(pid)
        if started is not None and process.create_time() != started:
            return True
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def recorded_process_is_gone(record: dict) -> bool:
    """True when the process a lock's record names (``host``, ``pid``, ``started``) is
    provably gone: on this host, and dead or its pid reused. A process on another host, or a
    record this project did not write, is never taken for gone."""
    if record.get("host") != socket.gethostname():
        return False  # a process on another host cannot be checked from here
    try:
        return process_is_gone(int(record["pid"]), float(record["started"]))
    except (KeyError, TypeError, ValueError):
        return False  # not a record written here: leave it to the user


def import_path_for_jobs(library: str) -> None:
    """Put ``library`` first on the import path of every process this one starts.

    Snakemake runs a job's script in a new Python process (and on a cluster, in a job that
    parses the Snakefile again); the environment is what reaches it, so the scripts import
    this checkout's library whether or not it is installed.
    """
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([library, inherited] if inherited else [library])
