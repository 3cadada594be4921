"""Scale: ``snakemake -n`` on a very large tree of links, before and after the manifest."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import MODEL, say
from bench.corpus import Source, main_corpus
from bench.runner import Usage, run_measured
from bench.workflow import OUTPUT_DIR, fresh_workdir, snakemake_command


@dataclass
class ScaleResult:
    files: int
    dry_run_cold: Usage
    manifest_and_chunks: Usage
    dry_run_full: Usage
    planned_jobs: int | None


def planned_jobs(log: Path) -> int | None:
    found = re.findall(r"^total\s+(\d+)\s*$", log.read_text(errors="replace"), re.MULTILINE)
    return int(found[-1]) if found else None


def run_scale(files: int, sources: Sequence[Source], chunk_size: int) -> ScaleResult:
    corpus = main_corpus(files, sources)
    workdir = fresh_workdir(f"dryrun-N{files}")
    base = snakemake_command(workdir, corpus, chunk_size)
    say(f"scale: snakemake -n on {files} files, before the manifest exists")
    [cold] = run_measured([[*base, "-n"]], [workdir / "dryrun-cold.log"])
    say("scale: build_manifest + split_chunks + write_settings for real")
    targets = [str(OUTPUT_DIR / "chunks.csv"), str(OUTPUT_DIR / MODEL / "settings.json")]
    [prepare] = run_measured([[*base, "--", *targets]], [workdir / "prepare.log"])
    say("scale: snakemake -n again, with every extraction job known")
    [full] = run_measured([[*base, "-n"]], [workdir / "dryrun-full.log"])
    return ScaleResult(files, cold, prepare, full, planned_jobs(workdir / "dryrun-full.log"))
