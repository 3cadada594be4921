"""The shortcut check in the report: the AUC table, flagged properties first, and one figure
per property with the two classes' distributions in each split (see fraudprep.outputs.shortcuts)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.properties import CATEGORICAL, DESCRIPTIONS, PROPERTIES
from fraudprep.inputs.manifest import SPLITS
from fraudprep.outputs.shortcuts import COMBINED, CORPUS, PropertyTable
from fraudprep.report.kit import COLOURS, new_figure, save_png, styled, write_html_table

BINS = 30
MOST_CATEGORIES = 8  # categories drawn per panel; the rest are summed as "other"


def _auc_text(result: Mapping[str, Any]) -> str:
    """The AUC and its 95 % interval, "0.950 [0.922, 0.968]" (tables of runs made before the
    intervals were recorded: the AUC alone)."""
    if result.get("auc") is None:
        return "—"
    if result.get("auc_low") is None:
        return f"{result['auc']:.3f}"
    return f"{result['auc']:.3f} [{result['auc_low']:.3f}, {result['auc_high']:.3f}]"


def _rows(shortcuts: Mapping[str, Any]) -> list[list[str]]:
    """One row per property and one for the combination: flagged first, most separating first
    among them, then the others by their largest separation on any split. With corpora, the
    corpus's row first, and each property's AUCs within each corpus (on the split where it is
    flagged, else on training); a property flagged pooled that separates the corpora, not the
    classes within them, is flagged "corpora"."""
    entries = {**shortcuts["properties"], COMBINED: shortcuts["combined"]}
    with_corpora = CORPUS in shortcuts
    flagged = {
        item["property"]: index
        for index, item in enumerate(shortcuts["flagged"])
        if item["property"] != CORPUS
    }
    items = {item["property"]: item for item in shortcuts["flagged"]}

    def order(name: str) -> tuple:
        seps = [r["separation"] or 0 for r in entries[name]["by_split"].values()]
        return (flagged.get(name, len(flagged)), -max(seps), name)

    rows = [_corpus_row(shortcuts)] if with_corpora else []
    for name in sorted(entries, key=order):
        by_split = entries[name]["by_split"]
        training = by_split["training"]
        mark = "yes" if name in flagged else ""
        if mark and items[name].get("separates") == "corpora":
            mark = "corpora"
        row = [
            mark,
            name,
            entries[name]["description"],
            *(_auc_text(by_split[split]) for split in SPLITS),
        ]
        if with_corpora:
            split = items[name]["split"] if name in flagged else "training"
            row.append(_within_text(by_split[split], split))
        rows.append([*row, str(training.get("real", "")), str(training.get("fake", ""))])
    return rows


def _within_text(result: Mapping[str, Any], split: str) -> str:
    """ "training: la19 0.500, mlaad 0.970" (each corpus's AUC; "—" with too few files)."""
    if "by_corpus" not in result:  # the combined model: fit on the pooled files
        return ""
    parts = [
        f"{corpus} {entry['auc']:.3f}" if entry["auc"] is not None else f"{corpus} —"
        for corpus, entry in result["by_corpus"].items()
    ]
    return f"{split}: {', '.join(parts)}" if parts else f"{split}: —"


def _corpus_row(shortcuts: Mapping[str, Any]) -> list[str]:
    """The corpus alone: its AUC per split, each corpus's share of fakes on training, the
    corpus most real and most fake files come from."""
    entry = shortcuts[CORPUS]
    flagged = any(item["property"] == CORPUS for item in shortcuts["flagged"])
    training = entry["by_split"]["training"]["by_corpus"]
    shares = ", ".join(f"{name} {counts['fake_share']:.0%}" for name, counts in training.items())

    def most(label: str) -> str:
        return max(training, key=lambda name: (training[name][label], name), default="")

    return [
        "yes" if flagged else "",
        CORPUS,
        "corpus the file comes from (scored by its share of fakes in the split)",
        *(_auc_text(entry["by_split"][split]) for split in SPLITS),
        f"training, share of fakes: {shares or '—'}",
        most("real"),
        most("fake"),
    ]


def write_shortcut_table(stats: Mapping[str, Any], path: str | Path) -> Path:
    shortcuts = stats.get("shortcuts") or {"properties": {}, "combined": {}, "flagged": []}
    threshold = shortcuts.get("threshold", 0.8)
    note = (
        "ROC AUC of 'fake' against each property alone (0.5: no information), with its 95 % "
        f"confidence interval in brackets [low, high]. Flagged when the whole interval is above "
        f"{threshold} or below {1 - threshold:.2f} on some split: a detector can learn the "
        "property instead of the voice (an AUC near 1 from a few files is not flagged: its "
        "interval is wide). real/fake: each class's median (most common category) on training."
    )
    if "skipped" in shortcuts.get("combined", {}):
        note += f" Combined model {shortcuts['combined']['skipped']}."
    header = ["flagged", "property", "what", *(f"AUC {s}" for s in SPLITS), "real", "fake"]
    if CORPUS in shortcuts:
        note += (
            " Several corpora: the corpus row is the corpus alone (flagged when a corpus is one"
            " class, or it separates the classes); 'AUC within each corpus' is the property's"
            " AUC among each corpus's files (— for fewer than 5 files of a class). A property"
            " flagged 'corpora' separates the corpora, not real from fake within any of them:"
            " the corpora differ by it and in their share of fakes."
        )
        header.insert(-2, "AUC within each corpus")
    return write_html_table(
        path,
        f"{stats.get('model', '')}: shortcut check",
        note,
        header,
        _rows(shortcuts) if shortcuts["properties"] else [],
        marked=lambda row: row[0] != "",
    )


@styled
def plot_property(
    table: PropertyTable, name: str, stats: Mapping[str, Any], path: str | Path
) -> Path:
    """Real and fake distributions of one property, a panel per split, the AUC and its 95 %
    interval in each title."""
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
        ax.set_title(f"{split}: AUC {auc}", fontsize=9)
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
