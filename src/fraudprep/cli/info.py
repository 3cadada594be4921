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

from fraudprep.base.formats import StorageFormat, storage_format
from fraudprep.base.layout import LEAKAGE, MANIFEST, SKIPPED
from fraudprep.base.logs import decimal_size as size
from fraudprep.cli.currency import StepState, compare_code_only, compare_with_config
from fraudprep.cli.errors import CliError
from fraudprep.cli.options import add_config_options
from fraudprep.cli.table import table
from fraudprep.cli.workflow_config import SNAKEFILE, WorkflowConfig, load_workflow_config
from fraudprep.inputs.integrity import read_leak_summary
from fraudprep.inputs.manifest import SPLITS, count_table_rows, iter_manifest
from fraudprep.outputs.dataset_stats import LEAK_WORDS, leak_text
from fraudprep.outputs.loader import StaleOutputsError, check_current, read_dataset_stats
from fraudprep.outputs.verify import DamagedOutputError, damaged_files, verify_files
from fraudprep.run.provenance import PROVENANCE_DIR
from fraudprep.run.settings import SETTINGS_FILE, read_settings_dict

# A dry run shows Snakemake's own reasons but leaves the provenance records as they are (only
# a run that executes jobs rewrites them), so it misses what the records above show.
NOT_CHECKED = (
    "not checked: Snakemake's file times and its records in .snakemake/, which need the DAG "
    "(`fraudprep run -n` shows those, but not changes in the records above)"
)
# Damaged files named under the table, at most (the count is in the model's row).
DAMAGED_SHOWN = 3


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info",
        help="what an output folder holds and whether it is current",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="a run's output_dir")
    parser.add_argument(
        "--checksums",
        action="store_true",
        help="read every batch file and compare its checksum with the recorded one (by "
        "default only each file's presence and size are checked)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=info_command)


def info_command(args: argparse.Namespace) -> int:
    output_dir = Path(args.output_dir)
    models = output_models(output_dir)
    lines = describe(output_dir, models, checksums=args.checksums)
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


def describe(output_dir: Path, models: Sequence[str], checksums: bool = False) -> list[str]:
    lines = [_manifest_line(output_dir), *_table_lines(output_dir)]
    rows, warnings = [], []
    for model in models:
        row, model_warnings = _model_row(output_dir, model, checksums)
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


def _model_row(
    output_dir: Path, model: str, checksums: bool = False
) -> tuple[list[Any], list[str]]:
    """One model's table row and its warnings, from its settings and dataset statistics."""
    model_dir = output_dir / model
    blanks = ["-"] * (len(SPLITS) + 3)
    try:
        settings = read_settings_dict(model_dir / SETTINGS_FILE)
        storage = storage_format(settings.get("storage_format", "pickle"))
    except Exception as error:  # a damaged file is said, not a traceback
        path = model_dir / SETTINGS_FILE
        return [model, "-", "-", "-", *blanks, _unreadable_state(path)], [_unreadable(path, error)]
    try:
        stats = read_dataset_stats(output_dir, model)
    except FileNotFoundError:
        dtype = settings["profile"].get("dtype", "-")
        return [model, storage.name, dtype, "-", *blanks, "incomplete: no statistics yet"], []
    except Exception as error:  # truncated or overwritten
        dtype = settings.get("profile", {}).get("dtype", "-")
        path = model_dir / storage.stats_name
        state = _unreadable_state(path)
        return [model, storage.name, dtype, "-", *blanks, state], [_unreadable(path, error)]
    samples = [sum(stats["samples"].get(split, {}).values()) for split in SPLITS]
    shared = stats.get("shared_with")
    written = size(stats["output_bytes"]) + (f" (= {shared})" if shared else "")
    state, damaged = _state(output_dir, model, storage, checksums)
    row = [
        model, storage.name, stats["dtype"], "x".join(map(str, stats["feature_shape"])),
        *(f"{count:,}" for count in samples), f"{stats['total_failures']:,}",
        f"{stats['total_batches']:,}", written, state,
    ]  # fmt: skip
    return row, [*stats.get("warnings", []), *damaged]


def _unreadable_state(path: Path) -> str:
    return f"damaged: {path.name} cannot be read"


def _unreadable(path: Path, error: Exception) -> str:
    """A model's file that cannot be read: a rerun makes it again once it is gone (Snakemake
    reruns a step whose output is missing, not one whose output is damaged)."""
    why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"damaged: {path} cannot be read ({why}); delete it and rerun to rebuild it"


def _state(
    output_dir: Path, model: str, storage: StorageFormat, checksums: bool = False
) -> tuple[str, list[str]]:
    """Whether the model's batches belong to the manifest and settings beside them, and are
    all there at the sizes their metadata records (with ``checksums``: the recorded bytes);
    and the damaged files, named."""
    try:
        check_current(output_dir, model)
    except StaleOutputsError:
        return "stale: made from another manifest or settings (fraudprep.load refuses it)", []
    model_dir = output_dir / model
    metadata_path = model_dir / storage.metadata_name
    try:
        metadata = storage.read_document(metadata_path)
    except FileNotFoundError:
        return "incomplete: no batch metadata (rerun to make it)", []
    except Exception:  # a rerun rebuilds damaged metadata itself
        return f"damaged: {metadata_path} cannot be read; rerun to rebuild it", []
    damaged = [
        f"{path} {problem}" for _, path, problem in damaged_files(metadata, model_dir, storage)
    ]
    advice = "missing or cut short; rerun to rebuild them"
    if checksums and not damaged:
        for entries in metadata.values():
            for entry in entries:
                try:
                    verify_files(storage.entry_files(entry, model_dir), entry)
                except DamagedOutputError as error:
                    damaged.append(str(error).split("; ")[0])
        advice = "not what was written; delete them and rerun to rebuild them"
    if not damaged:
        return "matches manifest", []
    named = damaged[:DAMAGED_SHOWN]
    if len(damaged) > DAMAGED_SHOWN:
        named.append(f"and {len(damaged) - DAMAGED_SHOWN} more")
    return f"damaged: {_batch_files(len(damaged))} {advice}", named


def _batch_files(count: int) -> str:
    return f"{count:,} batch file{'' if count == 1 else 's'}"


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
