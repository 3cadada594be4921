"""Is an output_dir current? Its provenance records against what a run would record now.

The workflow writes one record per step in ``<output_dir>/provenance/`` (see
:mod:`fraudprep.run.provenance`) and rewrites it when what the step is made from changes,
which reruns the step and every step after it. Both the workflow
(``rules/run.smk``) and :func:`expected_records` build them with
:func:`fraudprep.run.provenance.step_record`; ``tests/workflow/test_cli.py`` checks them against the
records of a real run.

What this cannot see without building Snakemake's DAG: output files newer or older than
their inputs, intermediate files deleted, and Snakemake's own records in ``.snakemake/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudprep.cli.workflow_config import SCRIPTS, WorkflowConfig
from fraudprep.inputs.manifest import ManifestError
from fraudprep.inputs.manifest_build import source_fingerprint
from fraudprep.run.provenance import (
    FEATURE_MODULES,
    PROVENANCE_DIR,
    STEP_MODULES,
    code_version,
    step_record,
)

# What a changed value of these keys means, in words; other keys are shown as old -> new.
KEY_MEANINGS = {
    "code": "fraudprep's code changed",
    "scripts": "the workflow scripts changed",
    "fingerprint": "input files added, removed, replaced or relabelled",
}
SHOWN_DIFFERENCES = 3
SHOWN_VALUE_CHARACTERS = 60


def read_records(output_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The provenance records in ``output_dir``: step name -> record."""
    folder = Path(output_dir) / PROVENANCE_DIR
    records = {}
    for path in sorted(folder.glob("*.json")):
        try:
            records[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            records[path.stem] = {}  # unreadable: differs from anything expected
    return records


def expected_records(cfg: WorkflowConfig, steps: list[str]) -> dict[str, dict[str, Any]]:
    """The records a run with ``cfg`` would write for ``steps`` (those a model's name is
    the model's step). Raises ManifestError when the input cannot be read."""
    return {step: _expected(cfg, step) for step in steps}


def _expected(cfg: WorkflowConfig, step: str) -> dict[str, Any]:
    return step_record(
        step,
        cfg.values,
        source=lambda: {**cfg.dataset.as_dict(), "fingerprint": source_fingerprint(cfg.dataset)},
        settings={m.model: m for m in cfg.models},
        augmentation_on=cfg.augmentation is not None,
        scripts_dir=cfg.checkout / SCRIPTS,
    )


def differences(recorded: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """What differs between two records, in words, the most telling first."""
    recorded_flat, expected_flat = _flat(recorded), _flat(expected)
    changed = sorted(
        key
        for key in recorded_flat.keys() | expected_flat.keys()
        if recorded_flat.get(key) != expected_flat.get(key)
    )
    named = [KEY_MEANINGS[key] for key in changed if key in KEY_MEANINGS]
    values = [
        f"{key} {_shown(recorded_flat.get(key))} -> {_shown(expected_flat.get(key))}"
        for key in changed
        if key not in KEY_MEANINGS
    ]
    shown = named + values[:SHOWN_DIFFERENCES]
    if len(values) > SHOWN_DIFFERENCES:
        shown.append(f"{len(values) - SHOWN_DIFFERENCES} more setting(s)")
    return shown


def _shown(value: Any) -> str:
    """A value as a person can read it on one line: long ones (a corpora list) cut short."""
    text = repr(value)
    return (
        text if len(text) <= SHOWN_VALUE_CHARACTERS else text[: SHOWN_VALUE_CHARACTERS - 3] + "..."
    )


def _flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True)
class StepState:
    step: str
    changes: list[str]  # empty: current

    @property
    def current(self) -> bool:
        return not self.changes


def compare_with_config(output_dir: str | Path, cfg: WorkflowConfig) -> list[StepState]:
    """Each recorded step of a model in the config, and the shared steps, against ``cfg``."""
    records = read_records(output_dir)
    models = {m.model for m in cfg.models}
    steps = [step for step in records if step in STEP_MODULES or step in models]
    states = []
    for step in steps:
        try:
            expected = _expected(cfg, step)
        except ManifestError as error:
            first = str(error).splitlines()[0]
            states.append(StepState(step, [f"the input cannot be read now ({first})"]))
            continue
        states.append(StepState(step, differences(records[step], expected)))
    return states


def compare_code_only(output_dir: str | Path) -> list[StepState]:
    """Without the checkout's config and scripts: the recorded code versions alone."""
    states = []
    for step, record in read_records(output_dir).items():
        modules = STEP_MODULES.get(step, FEATURE_MODULES)
        changed = record.get("code") != code_version(modules)
        states.append(StepState(step, [KEY_MEANINGS["code"]] if changed else []))
    return states
