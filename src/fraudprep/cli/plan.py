"""``fraudprep plan``: what a run with this config would read, make and cost, before it runs.

Reads the config as the workflow does, counts the input with the manifest step's readers,
and writes nothing (least of all into output_dir): files per split and class and per attack,
files an earlier run listed as failures, chunks, per model samples, batches and bytes, and
the time, from a measured rate that the table names.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

from fraudprep.base.logs import decimal_size as size
from fraudprep.cli.inventory import Inventory, read_failure_paths, take_inventory
from fraudprep.cli.options import add_config_options, machine_cores
from fraudprep.cli.outlook import ModelOutlook, bytes_needed, model_outlooks
from fraudprep.cli.table import duration, table
from fraudprep.cli.timing import (
    bench_rate,
    earlier_manifest_seconds,
    earlier_run_rate,
    hashing_bytes_per_second,
    wall_seconds,
)
from fraudprep.cli.workflow_config import WorkflowConfig, find_checkout, load_workflow_config
from fraudprep.inputs.chunks import chunk_sizes
from fraudprep.inputs.corpora import CorporaConfig, SourceConfig
from fraudprep.inputs.manifest import LABEL_NAMES, SPLITS
from fraudprep.outputs.dataset_stats import balance_warnings
from fraudprep.outputs.diskspace import compact_hint, nearest_existing

NO_ATTACK = "(none named)"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="what a run would read, make and cost; writes nothing",
        description=__doc__.split("\n\n")[0],
    )
    add_config_options(parser)
    parser.add_argument(
        "--cores",
        type=int,
        default=None,
        help="cores for the time estimate (default: this machine's, as fraudprep run uses)",
    )
    parser.set_defaults(handler=plan_command)


def plan_command(args: argparse.Namespace) -> int:
    checkout = find_checkout()
    cfg = load_workflow_config(checkout, args.configfile, args.config)
    print("\n".join(plan_lines(cfg, args.cores or machine_cores())))
    return 0


def plan_lines(cfg: WorkflowConfig, cores: int) -> list[str]:
    failure_tables = {
        m.model: paths
        for m in cfg.models
        if (paths := read_failure_paths(cfg.paths.failures(m.model))) is not None
    }
    inventory = take_inventory(cfg.dataset, failure_tables)
    chunk_size = cfg.values["chunk_size"]
    outlooks = model_outlooks(cfg.models, inventory.per_split, chunk_size, cfg.augmentation)
    chunks = chunk_sizes(inventory.total, chunk_size)
    return [
        *_header_lines(cfg),
        *_file_lines(inventory),
        *_corpus_lines(inventory),
        *_attack_lines(inventory),
        *_failure_lines(cfg, inventory, failure_tables),
        _chunk_line(chunks, chunk_size),
        *_model_lines(cfg, outlooks, inventory),
        *_time_lines(cfg, inventory, outlooks, chunks, cores),
    ]


def _header_lines(cfg: WorkflowConfig) -> list[str]:
    exists = "exists" if Path(cfg.output_dir).is_dir() else "not made yet"
    return [
        f"fraudprep plan (nothing written): {_source(cfg.dataset)} -> {cfg.output_dir} ({exists})",
    ]


def _source(dataset: SourceConfig) -> str:
    if isinstance(dataset, CorporaConfig):
        names = ", ".join(corpus.name for corpus in dataset.corpora)
        return f"{len(dataset.corpora)} corpora ({names})"
    where = dataset.listing if dataset.dataset == "csv" else dataset.input_dir
    return f"dataset {dataset.dataset}, {where}"


def _corpus_lines(inventory: Inventory) -> list[str]:
    """Files per corpus and class, in multi-corpus runs."""
    corpora = sorted({corpus for corpus, _ in inventory.corpora})
    if not corpora:
        return []
    labels = list(LABEL_NAMES.values())
    rows = [
        [corpus, *(f"{inventory.corpora[corpus, label]:,}" for label in labels)]
        for corpus in corpora
    ]
    return ["files per corpus:", *table(["corpus", *labels], rows)]


def _file_lines(inventory: Inventory) -> list[str]:
    labels = list(LABEL_NAMES.values())
    rows = [
        [split, *(inventory.files[split, label] for label in labels), inventory.split_total(split)]
        for split in SPLITS
    ]
    totals = [sum(inventory.files[split, label] for split in SPLITS) for label in labels]
    rows.append(["total", *totals, inventory.total])
    rows = [[name, *(f"{count:,}" for count in counts)] for name, *counts in rows]
    lines = [f"files: {inventory.total:,} ({size(inventory.bytes)})"]
    lines += table(["split", *labels, "total"], rows)
    # The run's dataset_stats warns of these in the same words, once it is done.
    per_split = {
        split: {label: inventory.files[split, label] for label in labels} for split in SPLITS
    }
    lines += [f"  warning: {warning}" for warning in balance_warnings(per_split)]
    if inventory.skipped:
        lines.append(
            f"  + {inventory.skipped:,} file(s) under class folders without an audio "
            "extension, which the run lists in skipped.csv"
        )
    return lines


def _attack_lines(inventory: Inventory) -> list[str]:
    attacks = sorted({attack for attack, _ in inventory.attacks})
    if attacks == [""]:
        return ["attacks: none named by this dataset (folders say real or fake, not which system)"]
    rows = [
        [attack or NO_ATTACK, *(f"{inventory.attacks[attack, split]:,}" for split in SPLITS)]
        for attack in attacks
    ]
    return ["files per attack ('-': bona fide):", *table(["attack", *SPLITS], rows)]


def _failure_lines(
    cfg: WorkflowConfig, inventory: Inventory, failure_tables: dict[str, set[str]]
) -> list[str]:
    if not failure_tables:
        return [f"known failures: no failures table of an earlier run in {cfg.output_dir}"]
    counts = []
    for model, paths in failure_tables.items():
        known = inventory.known_failures[model]
        # Rows of files no longer in the input are not this run's failures.
        gone = f" (+{len(paths) - known:,} not in this input)" if len(paths) > known else ""
        counts.append(f"{model} {known:,}{gone}")
    return [f"known failures (earlier run's <model>/failures.csv): {', '.join(counts)}"]


def _chunk_line(chunks: Sequence[int], chunk_size: int) -> str:
    if not chunks:
        return "chunks: none (no files)"
    spread = f"{min(chunks):,}" if min(chunks) == max(chunks) else f"{min(chunks)}-{max(chunks)}"
    return f"chunks: {len(chunks)} extraction jobs of {spread} files (chunk_size {chunk_size:,})"


def _model_lines(
    cfg: WorkflowConfig, outlooks: Sequence[ModelOutlook], inventory: Inventory
) -> list[str]:
    storage = cfg.values["format"]
    unit = "shards" if storage == "shards" else "batches"
    copies = " + augmented copies" if cfg.augmentation else ""
    rows = []
    for outlook in outlooks:
        settings = outlook.settings
        written = size(outlook.bytes)
        if outlook.shared_with:
            written = f"0 (links to {outlook.shared_with})"
        rows.append([
            settings.model,
            "x".join(map(str, settings.profile.output_shape)),
            settings.profile.dtype,
            f"{outlook.samples:,}",
            f"{outlook.batches:,}",
            f"{inventory.known_failures[settings.model]:,}",
            written,
        ])  # fmt: skip
    header = ["model", "shape", "dtype", "samples", unit, "known failures", "bytes"]
    return [
        f"models (format {storage}; samples: files{copies}; {unit}: if no file fails; bytes: "
        "the disk check's):",
        *table(header, rows),
        *_disk_lines(cfg, outlooks),
    ]


def _disk_lines(cfg: WorkflowConfig, outlooks: Sequence[ModelOutlook]) -> list[str]:
    needed = bytes_needed(outlooks)
    free = shutil.disk_usage(nearest_existing(cfg.output_dir)).free
    lines = [
        f"disk: the run's check asks for {size(needed)} (with its margin); "
        f"{size(free)} free there now"
    ]
    if needed > free and outlooks:
        # What the disk check's own refusal suggests.
        hint = compact_hint(cfg.models, outlooks[0].samples, needed, free)
        lines.append(f"  the run would stop at that check{hint} (docs/output-formats.md)")
    return lines


def _time_lines(
    cfg: WorkflowConfig,
    inventory: Inventory,
    outlooks: Sequence[ModelOutlook],
    chunks: Sequence[int],
    cores: int,
) -> list[str]:
    lines = ["time (estimated from measured rates):"]
    if cfg.values["hash_files"]:
        rate = hashing_bytes_per_second()
        least = duration(inventory.bytes / rate)
        lines.append(
            f"  hashing (hash_files): {size(inventory.bytes)} at {size(rate)}/s (SHA-256 measured "
            f"now, in memory; a slower disk sets the pace): at least {least}"
        )
    earlier_manifest = earlier_manifest_seconds(cfg.output_dir)
    if earlier_manifest is not None:
        lines.append(f"  the earlier run's manifest step: {duration(earlier_manifest)}")
    rate = earlier_run_rate(cfg.output_dir) or bench_rate(cfg.checkout, cfg.models)
    if rate is None or not outlooks:
        lines.append("  extraction: no measured rate (no earlier run here, no bench/results.md)")
        return lines
    work = outlooks[0].samples  # an augmented copy costs about what its file does
    jobs = max(1, min(cores, len(chunks)))
    seconds = wall_seconds(work, rate, cores, len(chunks))
    lines += [
        f"  extraction: about {duration(seconds)} ({work:,} samples x "
        f"{1000 * rate.seconds_per_file:.2f} ms / {jobs} job(s) at once on {cores} core(s))",
        f"    rate {rate.source}",
    ]
    return lines
