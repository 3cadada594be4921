"""``fraudprep info OUTPUT_DIR``: what an output folder holds, and whether it is current.

The counts are the outputs' own (each model's dataset statistics, the tables beside them);
currency is read from the provenance records against what this checkout and config would
record (:mod:`fraudprep.cli.currency`), which is what decides the workflow's reruns short of
Snakemake's file times.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fraudprep.base.layout import LEAKAGE, MANIFEST, SKIPPED
from fraudprep.cli.currency import StepState, compare_code_only, compare_with_config
from fraudprep.cli.errors import CliError
from fraudprep.cli.options import add_config_options
from fraudprep.cli.table import size, table
from fraudprep.cli.workflow_config import SNAKEFILE, WorkflowConfig, load_workflow_config
from fraudprep.inputs.integrity import read_leak_summary
from fraudprep.inputs.manifest import SPLITS, count_table_rows, iter_manifest
from fraudprep.outputs.dataset_stats import LEAK_WORDS, leak_text
from fraudprep.outputs.loader import StaleOutputsError, check_current, read_dataset_stats
from fraudprep.run.provenance import PROVENANCE_DIR
from fraudprep.run.settings import SETTINGS_FILE, read_settings_dict

# A dry run shows Snakemake's own reasons but leaves the provenance records as they are (only
# a run that executes jobs rewrites them), so it misses what the records above show.
NOT_CHECKED = (
    "not checked: Snakemake's file times and its records in .snakemake/, which need the DAG "
    "(`fraudprep run -n` shows those, but not changes in the records above)"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="what an output folder holds and whether it is current",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="a run's output_dir")
    add_config_options(parser)
    parser.set_defaults(handler=info_command)


def info_command(args: argparse.Namespace) -> int:
    output_dir = Path(args.output_dir)
    models = output_models(output_dir)
    lines = describe(output_dir, models)
    cfg = _config_here(args, output_dir)
    lines += currency_lines(output_dir, models, cfg)
    print("\n".join(lines))
    return 0


def output_models(output_dir: Path) -> list[str]:
    """The models in ``output_dir`` (folders with settings.json); refuses a folder that is
    no run's output_dir."""
    if not output_dir.is_dir():
        raise CliError(f"{output_dir} is not a folder; give the output_dir of a run")
    models = sorted(path.parent.name for path in output_dir.glob(f"*/{SETTINGS_FILE}"))
    if not models and not (output_dir / MANIFEST).is_file():
        raise CliError(
            f"{output_dir} holds no fraudprep outputs (no {MANIFEST}, no <model>/{SETTINGS_FILE});"
            " give the output_dir of a run"
        )
    return models


def _config_here(args: argparse.Namespace, output_dir: Path) -> WorkflowConfig | None:
    """The config a run from here would use, if this is the checkout; None elsewhere."""
    checkout = Path.cwd()
    if not (checkout / SNAKEFILE).is_file():
        if args.configfile or args.config:
            raise CliError(
                f"--config and --configfile need the checkout: no {SNAKEFILE} in {checkout}; "
                "run fraudprep info in the fraudprep checkout"
            )
        return None
    return load_workflow_config(checkout, args.configfile, args.config, str(output_dir))


def describe(output_dir: Path, models: Sequence[str]) -> list[str]:
    lines = [_manifest_line(output_dir), *_table_lines(output_dir)]
    rows, warnings = [], []
    for model in models:
        row, model_warnings = _model_row(output_dir, model)
        rows.append(row)
        warnings += [f"    {model}: {warning}" for warning in model_warnings]
    if rows:
        header = ["model", "format", "dtype", "shape", *SPLITS, "failures", "batches", "bytes"]
        lines += ["models (samples per split):", *table([*header, "state"], rows)]
    else:
        lines.append("models: none yet")
    if warnings:
        lines += ["  warnings:", *warnings]
    lines.append(f"on disk: {size(disk_bytes(output_dir))} (hard-linked files counted once)")
    return lines


def _manifest_line(output_dir: Path) -> str:
    manifest = output_dir / MANIFEST
    if not manifest.is_file():
        return f"{output_dir}: no {MANIFEST} (the run stopped before its manifest)"
    per_split = dict.fromkeys(SPLITS, 0)
    for row in iter_manifest(manifest):
        per_split[row.split] += 1
    splits = ", ".join(f"{split} {count:,}" for split, count in per_split.items())
    return f"{output_dir}: {sum(per_split.values()):,} files in {MANIFEST} ({splits})"


def _table_lines(output_dir: Path) -> list[str]:
    lines = []
    skipped = count_table_rows(output_dir / SKIPPED)
    if skipped:
        lines.append(f"  {skipped:,} file(s) skipped (not an audio extension): see {SKIPPED}")
    leakage = output_dir / LEAKAGE
    if leakage.is_file():
        lines.append(_leak_line(leakage))
    return lines


def _leak_line(path: Path) -> str:
    """What leakage.csv holds. Files are the rows with a path: a shared source's rows (kind
    ``source``, runs of several corpora) name a corpus and split, not a file."""
    summary = read_leak_summary(path)
    if "shared_sources" in summary:  # a table of corpora: speakers and sources too
        if not any(summary[key] for key, _, _ in LEAK_WORDS):
            return "  leakage: none found"
        return f"  {leak_text(summary)}: see {LEAKAGE}"
    files, groups = summary["files_involved"], summary["split_leaks"] + summary["label_conflicts"]
    if not files:
        return "  leakage: none found"
    return (
        f"  leakage: {files:,} file(s) in {groups:,} group(s) of identical audio across "
        f"splits or labels: see {LEAKAGE}"
    )


def _model_row(output_dir: Path, model: str) -> tuple[list[Any], list[str]]:
    """One model's table row and its warnings, from its settings and dataset statistics."""
    settings = read_settings_dict(output_dir / model / SETTINGS_FILE)
    storage = settings.get("storage_format", "pickle")
    try:
        stats = read_dataset_stats(output_dir, model)
    except FileNotFoundError:
        blanks = ["-"] * (len(SPLITS) + 3)
        dtype = settings["profile"].get("dtype", "-")
        return [model, storage, dtype, "-", *blanks, "incomplete: no statistics yet"], []
    samples = [sum(stats["samples"].get(split, {}).values()) for split in SPLITS]
    shared = stats.get("shared_with")
    written = size(stats["output_bytes"]) + (f" (= {shared})" if shared else "")
    row = [
        model, storage, stats["dtype"], "x".join(map(str, stats["feature_shape"])),
        *(f"{count:,}" for count in samples), f"{stats['total_failures']:,}",
        f"{stats['total_batches']:,}", written, _state(output_dir, model),
    ]  # fmt: skip
    return row, list(stats.get("warnings", []))


def _state(output_dir: Path, model: str) -> str:
    """Whether the model's batches belong to the manifest and settings beside them."""
    try:
        check_current(output_dir, model)
    except StaleOutputsError:
        return "stale: made from another manifest or settings (fraudprep.load refuses it)"
    return "matches manifest"


def disk_bytes(folder: Path) -> int:
    """Bytes the folder takes on disk; a file hard-linked several times (chunk and model
    folders, twin models) counts once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue  # removed meanwhile
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


def currency_lines(
    output_dir: Path, models: Sequence[str], cfg: WorkflowConfig | None
) -> list[str]:
    if not (output_dir / PROVENANCE_DIR).is_dir():
        return [f"current: unknown: no {PROVENANCE_DIR}/ records in {output_dir}; {NOT_CHECKED}"]
    if cfg is None:
        states = compare_code_only(output_dir)
        checked = (
            f"checked: the recorded code versions only (no {SNAKEFILE} here, so no config or "
            "workflow scripts: run fraudprep info in the checkout for those)"
        )
        return [*_state_lines(states), f"  {checked}; {NOT_CHECKED}"]
    states = compare_with_config(output_dir, cfg)
    lines = _state_lines(states)
    configured = [m.model for m in cfg.models]
    missing = [model for model in configured if model not in models]
    if missing:
        lines.append(f"  models a run would make: {', '.join(missing)}")
    others = [model for model in models if model not in configured]
    if others:
        lines.append(
            f"  not in the config's models (a run leaves them as they are): {', '.join(others)}"
        )
    lines.append(
        "  checked: the provenance records (input files' fingerprint, settings, code, workflow "
        f"scripts) against this checkout and config; {NOT_CHECKED}"
    )
    return lines


def _state_lines(states: Sequence[StepState]) -> list[str]:
    stale = [state for state in states if not state.current]
    if not stale:
        return ["current: yes, as far as the provenance records tell"]
    lines = ["current: no; a run would redo these steps (and every step after them):"]
    lines += [f"  {state.step}: {'; '.join(state.changes)}" for state in stale]
    return lines
