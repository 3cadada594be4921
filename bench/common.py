"""What every part of the bench shares: paths, progress lines, the children's environment and
the workflow's own configuration."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from fraudprep.base.memory import THREAD_ENV_VARS

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "bench"
BENCH_ROOT = REPO / "data" / "bench"
CONFIG = REPO / "config.yaml"
MODEL = "resnet"
# snakemake --cores, and the cores the end-to-end floor spreads the work over.
CORES = 2
# One BLAS/OpenMP thread per process, as the workflow's jobs and the seed run: a process then
# uses one core, and "per process" figures compare like with like. Forced, not defaulted
# (unlike fraudprep.base.memory.limit_threads): a user's setting would change what is measured.
THREAD_ENV = dict.fromkeys(THREAD_ENV_VARS, "1")


def say(message: str) -> None:
    """Progress goes to stderr, so that stdout carries only the results table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and where its log is."""


def child_env() -> dict[str, str]:
    env = {**os.environ, **THREAD_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def read_config() -> dict[str, Any]:
    import yaml

    with open(CONFIG, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def default_chunk_size() -> int:
    return int(read_config()["chunk_size"])


def model_settings(model: str = MODEL) -> Any:
    """config.yaml's settings for ``model``, resolved as the workflow resolves them.

    Kept apart from :func:`read_limits`: fraudprep.run.settings does not import numpy, so the
    bench's own process can ask for a profile and stay small (see corpus.demo_sources).
    """
    from fraudprep.run.settings import resolve_model_settings

    return resolve_model_settings(read_config(), model)


def read_limits() -> Any:
    """config.yaml's input limits, as an extraction job gets them."""
    from fraudprep.extraction.extract import ReadLimits

    config = read_config()
    return ReadLimits(
        min_duration=float(config.get("min_duration", 0.0)),
        max_input_seconds=float(config.get("max_input_seconds", 60.0)),
    )
