"""The shortcut check in the report: the AUC table, flagged properties first, and one figure
per property with the two classes' distributions in each split (see fraudprep.outputs.shortcuts)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.properties import CATEGORICAL, DESCRIPTIONS, PROPERTIES
from fraudprep.inputs.manifest import SPLITS
from fraudprep.outputs.shortcuts import COMBINED, PropertyTable
from fraudprep.report.kit import COLOURS, new_figure, save_png, styled, write_html_table

BINS = 30
MOST_CATEGORIES = 8  # categories drawn per panel; the rest are summed as "other"


def _auc_text(result: Mapping[str, Any]) -> str:
    return "—" if result.get("auc") is None else f"{result['auc']:.3f}"


def _rows(shortcuts: Mapping[str, Any]) -> list[list[str]]:
    """One row per property and one for the combination: flagged first, most separating first
    among them, then the others by their largest separation on any split."""
    entries = {**shortcuts["properties"], COMBINED: shortcuts["combined"]}
    flagged = {item["property"]: index for index, item in enumerate(shortcuts["flagged"])}

    def order(name: str) -> tuple:
        seps = [r["separation"] or 0 for r in entries[name]["by_split"].values()]
        return (flagged.get(name, len(flagged)), -max(seps), name)

    rows = []
    for name in sorted(entries, key=order):
        by_split = entries[name]["by_split"]
        training = by_split["training"]
        rows.append(
            [
                "yes" if name in flagged else "",
                name,
                entries[name]["description"],
                *(_auc_text(by_split[split]) for split in SPLITS),
                str(training.get("real", "")),
                str(training.get("fake", "")),
            ]
        )
    return rows


def write_shortcut_table(stats: Mapping[str, Any], path: str | Path) -> Path:
    shortcuts = stats.get("shortcuts") or {"properties": {}, "combined": {}, "flagged": []}
    threshold = shortcuts.get("threshold", 0.8)
    note = (
        f"ROC AUC of 'fake' against each property alone (0.5: no information; above "
        f"{threshold} or below {1 - threshold:.2f}: flagged, a detector can learn it instead "
        "of the voice). real/fake: each class's median (most common category) on training."
    )
    if "skipped" in shortcuts.get("combined", {}):
        note += f" Combined model {shortcuts['combined']['skipped']}."
    header = ["flagged", "property", "what", *(f"AUC {s}" for s in SPLITS), "real", "fake"]
    return write_html_table(
        path,
        f"{stats.get('model', '')}: shortcut check",
        note,
        header,
        _rows(shortcuts) if shortcuts["properties"] else [],
        marked=lambda row: row[0] == "yes",
    )


@styled
def plot_property(
    table: PropertyTable, name: str, stats: Mapping[str, Any], path: str | Path
) -> Path:
    """Real and fake distributions of one property, a panel per split, AUC in each title."""
    by_split = (stats.get("shortcuts") or {}).get("properties", {}).get(name, {}).get("by_split")
    # A fixed layout: the constrained one draws every figure twice to measure it, and these
    # are drawn for every property of every model after aggregation, on the run's end.
    figure = new_figure(10.0, 3.0, layout=None)
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.22, top=0.8, wspace=0.25)
    axes = figure.subplots(1, len(SPLITS), sharey=False)
    values = table.columns[name]
    bins = None if name in CATEGORICAL else _shared_bins(values)
    for ax, split in zip(axes, SPLITS, strict=True):
        rows = table.rows(split)
        if not rows.any():
            ax.set_axis_off()
            ax.set_title(f"{split}: no samples")
            continue
        groups = {"real": values[rows & ~table.is_fake], "fake": values[rows & table.is_fake]}
        if bins is None:
            _category_bars(ax, groups, table.categories[name])
        else:
            _histograms(ax, groups, bins)
        auc = _auc_text(by_split[split]) if by_split else "—"
        ax.set_title(f"{split} (AUC {auc})")
    figure.suptitle(f"{stats.get('model', '')}: {DESCRIPTIONS[name]} ({name})")
    return save_png(figure, path)


def _shared_bins(values: np.ndarray) -> np.ndarray:
    """The same bins in every panel, over the 1st to 99th percentile (outliers in the end
    bins), so that the classes and splits compare at a glance."""
    if not len(values):
        return np.linspace(0, 1, BINS + 1)
    low, high = np.percentile(values, [1, 99])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, BINS + 1)


def _histograms(ax, groups: Mapping[str, np.ndarray], bins: np.ndarray) -> None:
    for cls, values in groups.items():
        clipped = np.clip(values, bins[0], bins[-1])
        ax.hist(clipped, bins=bins, density=len(values) > 0, histtype="step", linewidth=1.5,
                color=COLOURS[cls], label=f"{cls} ({len(values)})")  # fmt: skip
    ax.legend(fontsize=7)
    ax.set_yticks([])


def _category_bars(ax, groups: Mapping[str, np.ndarray], names: list[str]) -> None:
    """Each class's share of files per category, the most common categories of both first."""
    counts = {cls: np.bincount(codes, minlength=len(names)) for cls, codes in groups.items()}
    together = sum(counts.values())
    top = sorted(np.flatnonzero(together), key=lambda c: (-together[c], names[c]))
    top = top[:MOST_CATEGORIES]
    x = np.arange(len(top))
    for offset, (cls, count) in zip((-0.2, 0.2), counts.items(), strict=True):
        shares = count / max(1, count.sum())
        ax.bar(x + offset, shares[top], 0.4, color=COLOURS[cls], label=f"{cls} ({count.sum()})")
    ax.set_xticks(x, [names[code] for code in top], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("share of the class")
    ax.legend(fontsize=7)


def shortcut_figures(
    stats: Mapping[str, Any], properties_path: str | Path, outputs: Mapping[str, str | Path]
) -> dict[str, Path]:
    """``outputs``: ``table`` and/or property names -> paths; what was written."""
    written = {}
    table = PropertyTable.read(properties_path) if set(outputs) & set(PROPERTIES) else None
    for key, path in outputs.items():
        if key == "table":
            written[key] = write_shortcut_table(stats, path)
        elif key in PROPERTIES and table is not None:
            written[key] = plot_property(table, key, stats, path)
        else:
            raise ValueError(f"unknown shortcut output {key!r}")
    return written
