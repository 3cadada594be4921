"""What each step's outputs were made from, kept beside them in ``output_dir``.

Snakemake decides what to rerun from file times and from its records in ``.snakemake/``
(parameters, code). Without those records (a second clone pointed at the same output_dir, a
deleted ``.snakemake/``, a run started from another directory) a changed input tree or
feature setting used to give "Nothing to be done" over stale outputs. So each step also reads
a small provenance file that the run writes while it builds the DAG, and rewrites only when
its content changes: a changed input or setting gives the file a new modification time, and
Snakemake's own time check reruns the step and everything after it, whatever ``.snakemake/``
holds. Unchanged, the file is left alone and nothing reruns.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from fraudprep.base.atomic import atomic_write

PROVENANCE_DIR = "provenance"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # fraudprep/
# The modules whose code decides what a step writes, by dotted name under fraudprep: a new
# version of them reruns the step. A subpackage (inputs.datasets) counts with all its
# modules. tests/unit/run/test_provenance.py checks that every module the extraction imports
# is here, or inside a subpackage here, or says why not.
MANIFEST_MODULES = (
    "inputs.manifest",
    "inputs.manifest_build",
    "inputs.corpora",
    "inputs.corpora_rows",
    "inputs.datasets",
    "inputs.integrity",
    "base.extsort",
)
FEATURE_MODULES = (
    "extraction.audio_io",
    "extraction.features",
    "extraction.energy",
    "run.settings",
    "extraction.extract",
    "extraction.per_file",
    "extraction.chunk_files",
    "extraction.store",
    "base.formats",
    "extraction.augment",
    "extraction.properties",
    "extraction.stats",
    "inputs.chunks",
    "base.layout",
)
REPORT_MODULES = (
    "report.kit",
    "report.report_plots",
    "report.stats_figures",
    "report.example_figures",
    "report.job_resources",
    "report.report_shortcuts",
    "outputs.shortcuts",
    "outputs.property_aucs",
    "outputs.auc",
)


MANIFEST_STEP, CHUNKS_STEP, REPORT_STEP = "manifest", "chunks", "report"
# Each step's code modules and workflow scripts (a model's step is named after the model).
STEP_MODULES = {
    MANIFEST_STEP: MANIFEST_MODULES,
    CHUNKS_STEP: ("inputs.chunks",),
    REPORT_STEP: REPORT_MODULES,
}
STEP_SCRIPTS = {
    MANIFEST_STEP: ("build_manifest",),
    CHUNKS_STEP: ("split_chunks",),
    REPORT_STEP: ("plot_report", "plot_shortcuts", "plot_job_resources"),
}
MODEL_SCRIPTS = ("write_settings", "extract_features", "aggregate_batches")


class HasDict(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def step_record(
    step: str,
    config: Mapping[str, Any],
    *,
    source: Callable[[], Mapping[str, Any]],
    settings: Mapping[str, HasDict],
    augmentation_on: bool,
    scripts_dir: Path,
) -> dict[str, Any]:
    """What ``step``'s outputs are made from: the one definition of a provenance record, for
    the workflow (rules/run.smk) and for ``fraudprep info``, which compares an output folder
    with it. ``source`` gives the dataset's options and its input fingerprint (a scan of the
    input tree, so asked only for the manifest); a model's step is named after the model."""
    if step == MANIFEST_STEP:
        record = {
            **source(),
            "hash_files": config["hash_files"],
            "fail_on_leakage": config["fail_on_leakage"],
        }
    elif step == CHUNKS_STEP:
        record = {"chunk_size": config["chunk_size"]}
    elif step == REPORT_STEP:
        record = {}
    else:
        record = {
            "settings": settings[step].as_dict(),
            "min_duration": config["min_duration"],
            "max_input_seconds": config["max_input_seconds"],
        }
        # Absent while off: records of runs without augmentation stay valid.
        if augmentation_on:
            record["augmentation"] = config["augmentation"]
    modules = STEP_MODULES.get(step, FEATURE_MODULES)
    names = STEP_SCRIPTS.get(step, MODEL_SCRIPTS)
    record["code"] = code_version(modules)
    record["scripts"] = scripts_version(tuple(str(scripts_dir / f"{n}.py") for n in names))
    return record


@functools.cache  # input functions ask for it again for every job of the DAG
def code_version(modules: tuple[str, ...]) -> str:
    """SHA-256 of the named modules' source, so that two checkouts of the same code agree."""
    digest = hashlib.sha256()
    for module in modules:
        for name, path in _module_sources(module):
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def scripts_version(scripts: tuple[str, ...]) -> str:
    """SHA-256 of the named workflow scripts' content.

    Snakemake reruns a ``script:`` rule whose script file is newer than its outputs: in a new
    clone every file is new, so its first run redid every step over outputs another clone had
    made at the same commit. The workflow's profiles turn that trigger off (``rerun-triggers``
    without ``code``); the scripts' content, recorded here, reruns a step whose script changed.
    """
    digest = hashlib.sha256()
    for script in scripts:
        digest.update(Path(script).name.encode() + b"\0")
        digest.update(Path(script).read_bytes())
    return digest.hexdigest()


def _module_sources(module: str) -> list[tuple[str, Path]]:
    """(name, path) of a module's source file, or of every one of a subpackage's, in order."""
    package = PACKAGE_DIR / module.replace(".", "/")
    if not package.is_dir():
        return [(module, package.with_suffix(".py"))]
    return [
        (f"{module}/{path.relative_to(package).as_posix()}", path)
        for path in sorted(package.rglob("*.py"))
    ]


def provenance_path(output_dir: str | os.PathLike[str], step: str) -> Path:
    return Path(output_dir) / PROVENANCE_DIR / f"{step}.json"


def record_provenance(path: str | os.PathLike[str], record: dict[str, Any]) -> bool:
    """Write ``record`` to ``path`` unless the file already holds it; True if written."""
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True
