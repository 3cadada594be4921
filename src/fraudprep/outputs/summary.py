"""What a finished run tells its user: one summary line per model and where outputs are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fraudprep.base.formats import storage_format
from fraudprep.base.layout import CHUNKS, FAILURES, LEAKAGE, MANIFEST, SETTINGS, SKIPPED
from fraudprep.inputs.manifest import count_table_rows
from fraudprep.outputs.loader import StaleOutputsError, check_current, read_dataset_stats
from fraudprep.run.settings import SETTINGS_FILE, read_settings_dict


def summary_line(stats: dict[str, Any], failures_path: str | Path) -> str:
    return (
        f"{stats['total_files']} files: {stats['total_samples']} ok, "
        f"{stats['total_failures']} failed — see {failures_path}"
    )


def run_summary_lines(output_dir: str | Path, models: list[str]) -> list[str]:
    lines = [f"fraudprep outputs in {output_dir}/:"]
    skipped_path = Path(output_dir) / SKIPPED
    skipped = count_table_rows(skipped_path)
    if skipped:
        lines.append(
            f"  {skipped} file(s) under the input's class folders skipped "
            f"(not an audio extension) — see {skipped_path}"
        )
    for model in models:
        model_dir = Path(output_dir) / model
        try:
            stats = read_dataset_stats(output_dir, model)
        except FileNotFoundError:
            lines.append(f"  {model}: not produced by this run")
            continue
        newer = newer_inputs(output_dir, model)
        if newer:
            # A run stopped short of the model's final step (--until, a target) after
            # remaking what it is made from: its outputs are an earlier run's, and the next
            # run remakes them.
            lines.append(
                f"  {model}: outputs of an earlier run, not current ({', '.join(newer)} newer): "
                "rerun without --until (or without the targets) to remake them"
            )
            continue
        batches = ", ".join(f"{split} {n}" for split, n in stats["batches"].items())
        files = "shards" if stats["settings"].get("storage_format") == "shards" else "batches"
        lines.append(f"  {model}: {summary_line(stats, model_dir / FAILURES)}")
        lines.append(
            f"    {stats['total_batches']} {files} ({batches}) of shape "
            f"{tuple(stats['feature_shape'])} {stats['dtype']}, {_written(stats, models)}; "
            f"metadata {model_dir}/"
        )
        for split, copies in (stats.get("augmented") or {}).items():
            kinds = ", ".join(f"{kind} {n}" for kind, n in copies["kinds"].items())
            lines.append(
                f"    {split}: {copies['samples']} augmented copies in {copies['batches']} {files}"
                + (f" ({kinds})" if kinds else "")
            )
        lines.extend(_corpus_lines(stats))
        # Said on the console, not only in the job's log: each one can spoil a training run.
        lines.extend(f"    warning: {warning}" for warning in stats.get("warnings", []))
    lines.extend(_leftover_lines(output_dir, models))
    return lines


def newer_inputs(output_dir: str | Path, model: str) -> list[str]:
    """The files the model's final step is made from (the manifest, the chunks, the leakage
    table, its settings) that are newer than its batch metadata, as Snakemake compares them
    (the workflow's profile has file times decide): empty when the outputs are current."""
    model_dir = Path(output_dir) / model
    settings = read_settings_dict(model_dir / SETTINGS_FILE)
    storage = storage_format(settings.get("storage_format", "pickle"))
    try:
        made = (model_dir / storage.metadata_name).stat().st_mtime_ns
    except FileNotFoundError:
        return [storage.metadata_name]
    sources = [Path(output_dir) / name for name in (MANIFEST, CHUNKS, LEAKAGE)]
    newer = []
    for path in [*sources, model_dir / SETTINGS]:
        try:
            if path.stat().st_mtime_ns > made:
                newer.append(path.name)
        except FileNotFoundError:
            continue
    return newer


def _corpus_lines(stats: dict[str, Any]) -> list[str]:
    """With corpora: each corpus's files, samples and failures, its samples per split and its
    share of fakes; then the corpus as a shortcut (the shortcut check's corpus entry)."""
    lines = []
    for corpus, counts in (stats.get("corpora") or {}).items():
        splits = ", ".join(
            f"{split} {sum(labels.values())}"
            for split, labels in counts["samples"].items()
            if sum(labels.values())
        )
        fakes = sum(labels["fake"] for labels in counts["samples"].values())
        share = f", {fakes / counts['total_samples']:.0%} fake" if counts["total_samples"] else ""
        lines.append(
            f"    corpus {corpus}: {counts['total_files']} files, {counts['total_samples']} ok"
            f" ({splits or 'none'}), {counts['total_failures']} failed{share}"
        )
    shortcuts = stats.get("shortcuts") or {}
    if "corpus" in shortcuts:
        aucs = ", ".join(
            f"{result['auc']:.2f} on {split}"
            for split, result in shortcuts["corpus"]["by_split"].items()
            if result["auc"] is not None
        )
        separating = [
            item["property"] for item in shortcuts["flagged"] if item.get("separates") == "corpora"
        ]
        aucs = aucs or "— (no split has both classes)"
        lines.append(
            f"    the corpus alone tells real from fake with AUC {aucs}"
            + (
                f"; separating the corpora, not real from fake: {', '.join(separating)}"
                if separating
                else ""
            )
        )
    return lines


def _written(stats: dict[str, Any], models: list[str]) -> str:
    """Bytes of the model's batch files, and with which model it shares them (hard links)."""
    size = _megabytes(stats["output_bytes"])
    shared = stats.get("shared_with")
    return f"{size} (shared with {shared})" if shared in models else size


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count < 1e9 else f"{count / 1e9:.2f} GB"


def _leftover_lines(output_dir: str | Path, models: list[str]) -> list[str]:
    """Models in ``output_dir`` that this run did not produce: say whether they still match."""
    lines = []
    for settings in sorted(Path(output_dir).glob(f"*/{SETTINGS_FILE}")):
        model = settings.parent.name
        if model in models:
            continue
        try:
            check_current(output_dir, model)
        except StaleOutputsError:
            state = "made from another manifest or settings: fraudprep.load refuses it"
        except (FileNotFoundError, KeyError, ValueError):
            state = "incomplete"
        else:
            state = "still matches the manifest"
        lines.append(f"  {model}: left by an earlier run (not in models), {state}")
    return lines
