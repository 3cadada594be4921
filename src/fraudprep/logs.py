"""Logging for workflow jobs: everything a job prints goes to its Snakemake ``log:`` file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def log_job_to(log_path: str | Path) -> None:
    """Send this process's stdout, stderr and logging to ``log_path`` (appending)."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the job
    sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO, format=LOG_FORMAT, force=True)
    logging.captureWarnings(True)
