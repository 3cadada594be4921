"""The four-model comparison: one snakemake run per model against one run for all four (one
extraction job a chunk decodes each file once for every model), in time and bytes."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import CORES, say
from bench.runner import run_measured
from bench.workflow import OUTPUT_DIR, fresh_workdir, snakemake_command

ALL_MODELS = ("resnet", "mobilenet", "unetr", "resnet_low_memory")


@dataclass
class ModelsRun:
    """The default four-model run against one run per model, on the same N files."""

    files: int
    one_model_s: dict[str, float]
    all_models_s: float
    identical: dict[str, bool]  # each model's outputs, byte for byte, in both

    @property
    def ratio(self) -> float:
        return self.all_models_s / sum(self.one_model_s.values())


def model_digests(out: Path, model: str) -> dict[str, str]:
    """SHA-256 of every file of one model's outputs (batches, metadata, stats, chunks)."""
    root = out / model
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".snakemake_timestamp"
    }


def run_models(
    corpus: Path, files: int, chunk_size: int, name: str, models: Sequence[str]
) -> tuple[float, dict[str, dict[str, str]]]:
    """One snakemake run for ``models``: its wall time and every model's output digests."""
    workdir = fresh_workdir(f"models-N{files}-{name}")
    say(f"c  snakemake --cores {CORES}, models {','.join(models)}, N={files}")
    command = snakemake_command(workdir, corpus, chunk_size, models=models)
    [usage] = run_measured([command], [workdir / "snakemake.log"])
    digests = {model: model_digests(workdir / OUTPUT_DIR, model) for model in models}
    shutil.rmtree(workdir / "data", ignore_errors=True)  # GBs of batches, now hashed
    return usage.wall_s, digests


def run_models_comparison(corpus: Path, files: int, chunk_size: int) -> ModelsRun:
    """snakemake over ``corpus`` for each model alone, then for all four in one run: wall
    times, and whether every output is the same."""
    alone, alone_digests = {}, {}
    for model in ALL_MODELS:
        alone[model], digests = run_models(corpus, files, chunk_size, model, [model])
        alone_digests.update(digests)
    together_s, together_digests = run_models(corpus, files, chunk_size, "all", ALL_MODELS)
    identical = {m: alone_digests[m] == together_digests[m] for m in ALL_MODELS}
    return ModelsRun(files, alone, together_s, identical)
