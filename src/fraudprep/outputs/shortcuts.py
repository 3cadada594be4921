"""Shortcut check: how well each per-file property alone tells real from fake, per split.

A detector learns whatever separates the classes; when silence, level, codec or bandwidth do,
it can score well without listening to the voice (Müller et al., "Speech is Silver, Silence
is Golden", Interspeech 2021: leading silence alone separated ASVspoof 2019 LA). Each property
gets the ROC AUC of "fake" against its value (:mod:`fraudprep.outputs.auc`), measured per split
by :mod:`fraudprep.outputs.property_aucs`, with all properties together as a logistic
regression fit on the training split. This module makes the table of it and judges it: which
properties to flag, and the warnings.

Every AUC comes with a 95 % confidence interval, and a property is flagged only when the
interval's lower end is above the threshold: three files per class that happen to sort
perfectly (AUC 1.00, interval 0.50 to 1.00) say nothing yet.

With several corpora (config ``corpora``) the corpus is a shortcut of its own: a corpus that is
all fake teaches a detector the corpus, not the voice. The table then has a ``corpus`` entry
(the AUC of the corpus alone, scored by its share of fakes in the split, and each corpus's
counts), and every property's AUC within each corpus beside the pooled one: a property flagged
pooled whose within-corpus AUCs are not is named as separating the corpora, not the classes
(one corpus at 8 kHz, real and fake alike within each corpus).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fraudprep.inputs.manifest import LABEL_NAMES, SPLITS, TRAINING
from fraudprep.outputs.auc import separation_interval
from fraudprep.outputs.property_aucs import CORPUS, PropertyTable, measured

DEFAULT_THRESHOLD = 0.8
COMBINED = "all properties together"


def shortcut_table(
    properties_path: str | Path,
    threshold: float = DEFAULT_THRESHOLD,
    manifest_path: str | Path | None = None,
) -> dict:
    """``dataset_stats['shortcuts']``: per property and split the AUC, the separation
    (max(AUC, 1 - AUC)) and each class's typical value; the combined model's AUC per split;
    the properties whose separation exceeds ``threshold``, most separating first.

    ``manifest_path``: a manifest of several corpora. Adds the ``corpus`` entry, each
    property's AUC within each corpus (``by_corpus`` of each split), the corpora that are one
    class (first among the flagged) and, per flagged property, what it separates."""
    table = PropertyTable.read(properties_path, manifest_path)
    result: dict[str, Any] = {"threshold": threshold, **measured(table)}
    result["flagged"] = flagged(result, threshold)
    return result


def flagged(table: dict, threshold: float) -> list[dict]:
    """One entry per property (and the combined model) that clearly separates the classes on
    some split, its separation's 95 % interval above ``threshold`` (an AUC of 1.00 from a
    handful of files is not enough): the split where it separates most clearly, and the
    warning. With corpora, first the corpora that are one class (or the corpus alone, when it
    separates the classes otherwise), and each property's ``separates``: ``classes`` (also
    within a corpus), ``corpora`` (not within any: the corpora differ by it, and by their
    share of fakes) or ``unclear`` (within-corpus AUCs too uncertain to tell)."""
    entries = [(name, info["description"], info) for name, info in table["properties"].items()]
    entries.append((COMBINED, COMBINED, table["combined"]))
    found = []
    for name, description, info in entries:
        # The combined model is judged where it was not fit: on training it can separate
        # a small split by chance (many properties, few files).
        held_out = name == COMBINED
        worst = _most_separating_split(info["by_split"], skip=TRAINING if held_out else None)
        if worst is None or info["by_split"][worst]["separation_low"] <= threshold:
            continue
        result = info["by_split"][worst]
        item = {
            "property": name,
            "split": worst,
            "auc": result["auc"],
            "separation": result["separation"],
            "separation_low": result["separation_low"],
            "message": warning_message(name, description, worst, result),
        }
        if "by_corpus" in result:
            item["separates"] = within_corpus_verdict(result["by_corpus"], threshold)
            item["message"] = warning_message(
                name, description, worst, result, item["separates"], threshold
            )
        found.append(item)
    ordered = sorted(
        found, key=lambda item: (-item["separation_low"], -item["separation"], item["property"])
    )
    return (corpus_flagged(table[CORPUS], threshold) if CORPUS in table else []) + ordered


def within_corpus_verdict(by_corpus: dict[str, dict], threshold: float) -> str:
    """What a property flagged pooled separates, from its AUCs within each corpus (those with
    enough files of both classes): ``classes`` when one of them is flagged too, ``corpora``
    when none comes above ``threshold`` even at its measured value, ``unclear`` otherwise
    (high within a corpus but too few files to be sure, or no corpus with both classes)."""
    measured = [entry for entry in by_corpus.values() if entry["separation"] is not None]
    if any(entry["separation_low"] > threshold for entry in measured):
        return "classes"
    if measured and all(entry["separation"] <= threshold for entry in measured):
        return "corpora"
    return "unclear"


def corpus_flagged(entry: dict, threshold: float) -> list[dict]:
    """The corpus as a shortcut: each corpus that is one class in a split that has the other
    class too (in every split it is in, or in those named), else the corpus alone when it
    separates the classes on some split."""
    by_split = entry["by_split"]
    one_class: dict[tuple[str, str], list[str]] = {}  # (corpus, label) -> splits
    present: dict[str, list[str]] = {}
    for split in SPLITS:
        if by_split[split]["separation"] is None:  # one class in the whole split
            continue
        for corpus, counts in by_split[split]["by_corpus"].items():
            present.setdefault(corpus, []).append(split)
            for label in LABEL_NAMES.values():
                if counts[label] == counts["real"] + counts["fake"]:
                    one_class.setdefault((corpus, label), []).append(split)
    found = []
    for (corpus, label), splits in sorted(one_class.items()):
        result = by_split[splits[0]]
        files = sum(by_split[split]["by_corpus"][corpus][label] for split in splits)
        where = "" if splits == present[corpus] else f" in {', '.join(splits)}"
        per_split = ", ".join(
            f"{by_split[split]['by_corpus'][corpus][label]} in {split}" for split in splits
        )
        found.append(
            {
                "property": CORPUS,
                "corpus": corpus,
                "label": label,
                "splits": splits,
                "split": splits[0],
                "auc": result["auc"],
                "separation": result["separation"],
                "separation_low": result["separation_low"],
                "message": (
                    f"corpus {corpus} is all {label}{where}: a detector can learn the corpus "
                    f"instead of the voice ({files} {label} files: {per_split})"
                ),
            }
        )
    if found:
        return found
    worst = _most_separating_split(by_split)
    if worst is None or by_split[worst]["separation_low"] <= threshold:
        return []
    result = by_split[worst]
    shares = ", ".join(
        f"{corpus} {counts['fake_share']:.0%}" for corpus, counts in result["by_corpus"].items()
    )
    return [
        {
            "property": CORPUS,
            "split": worst,
            "auc": result["auc"],
            "separation": result["separation"],
            "separation_low": result["separation_low"],
            "message": (
                f"the corpus alone tells real from fake ({interval_text(result)} on {worst}; "
                f"share of fakes: {shares}): a detector can learn the corpus instead of the voice"
            ),
        }
    ]


def _most_separating_split(by_split: dict[str, dict], skip: str | None = None) -> str | None:
    """The split whose separation is clearest (highest lower end; then highest separation)."""
    known = [
        split for split in SPLITS if by_split[split]["separation"] is not None and split != skip
    ]
    return max(
        known,
        key=lambda split: (by_split[split]["separation_low"], by_split[split]["separation"]),
        default=None,
    )


def interval_text(result: dict) -> str:
    """The separation (max(AUC, 1 - AUC)) as the warnings give it, with its interval and
    what it was measured on: "AUC 0.93, 95% CI 0.90 to 0.96, 200 real and 180 fake files"."""
    low, high = separation_interval(result)
    files = result["files"]
    return (
        f"AUC {result['separation']:.2f}, 95% CI {low:.2f} to {high:.2f}, "
        f"{files['real']} real and {files['fake']} fake files"
    )


def warning_message(
    name: str,
    description: str,
    split: str,
    result: dict,
    separates: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> str:
    """The warning for a flagged property; ``separates`` (runs of several corpora): what its
    AUCs within each corpus say it separates (:func:`within_corpus_verdict`)."""
    measured = f"{interval_text(result)} on {split}"
    if name == COMBINED:
        return (
            f"the file properties together separate real and fake ({measured}): a detector "
            "can learn them instead of the voice"
        )
    if separates == "corpora":
        return (
            f"{description} separates the corpora, not real from fake ({measured} pooled; "
            f"within each corpus at most AUC {threshold:.2f}: {_within_text(result)}): the "
            "corpora differ by it and in their share of fakes, so a detector can learn the "
            "corpus through it instead of the voice"
        )
    within = f"; within each corpus: {_within_text(result)}" if separates else ""
    return (
        f"real and fake differ by {description} ({measured}; {_typical_values(result)}"
        f"{within}): a detector can learn this instead of the voice"
    )


def _within_text(result: dict) -> str:
    """The AUCs within each corpus, "la19 0.52, mlaad 0.97, itw too few files"."""
    parts = []
    for corpus, entry in result["by_corpus"].items():
        if entry["separation"] is None:
            parts.append(f"{corpus} too few files")
        else:
            parts.append(f"{corpus} {entry['separation']:.2f}")
    return ", ".join(parts) or "no corpus has both classes"


def _typical_values(result: dict) -> str:
    real, fake = result["real"], result["fake"]
    if isinstance(real, str) or isinstance(fake, str):
        return f"mostly {real} in real files, {fake} in fake ones"
    return f"median {real:.3g} in real files, {fake:.3g} in fake ones"
