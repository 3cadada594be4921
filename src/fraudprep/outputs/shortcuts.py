"""Shortcut check: how well each per-file property alone tells real from fake, per split.

A detector learns whatever separates the classes; when silence, level, codec or bandwidth do,
it can score well without listening to the voice (Müller et al., "Speech is Silver, Silence
is Golden", Interspeech 2021: leading silence alone separated ASVspoof 2019 LA). Each property
gets the ROC AUC of "fake" against its value, computed exactly from ranks (Mann-Whitney U,
ties counted half); categories (sample rate, channels, codec) are ordered by their share of
fakes in the split, which gives the best AUC any rule on the category alone can reach. All
properties together: a logistic regression fit on the training split, scored on every split.

Every AUC comes with a 95 % confidence interval (:func:`auc_interval`), and a property is
flagged only when the interval's lower end is above the threshold: three files per class that
happen to sort perfectly (AUC 1.00, interval 0.50 to 1.00) say nothing yet.

With several corpora (config ``corpora``) the corpus is a shortcut of its own: a corpus that is
all fake teaches a detector the corpus, not the voice. The table then has a ``corpus`` entry
(the AUC of the corpus alone, scored by its share of fakes in the split, and each corpus's
counts), and every property's AUC within each corpus beside the pooled one: a property flagged
pooled whose within-corpus AUCs are not is named as separating the corpora, not the classes
(one corpus at 8 kHz, real and fake alike within each corpus).

Memory: one float32 per property and file (about 60 MB per million files) while the table is
measured; ``properties.csv`` is read in one pass straight into those arrays.
"""

from __future__ import annotations

import csv
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.properties import CATEGORICAL, DESCRIPTIONS, PROPERTIES
from fraudprep.inputs.manifest import FAKE, LABEL_NAMES, SPLITS, TRAINING
from fraudprep.outputs.dataset_stats import CorpusOfSamples

DEFAULT_THRESHOLD = 0.8
COMBINED = "all properties together"
RIDGE = 1e-3  # keeps the fit finite when a property separates the training split perfectly
NEWTON_STEPS = 25
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95 % intervals
BISECTION_STEPS = 60  # halvings of [0, 1]: far below the 4 decimals the table keeps
# Logistic regression's rule of thumb: ten files of the rarer class per property fitted, or
# the fit learns the training files by heart and its AUC elsewhere is chance.
EVENTS_PER_PROPERTY = 10
CORPUS = "corpus"  # the corpus entry's name, in the table and among the flagged
# A property's AUC within a corpus is measured where the corpus has this many files of each
# class in the split: fewer say nothing about it (3 and 3 in perfect order: 0.50 to 1.00).
WITHIN_CORPUS_FILES = 5


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average (as scipy's rankdata, without importing it:
    aggregation runs once per model and every import is on the run's critical path)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def roc_auc(values: np.ndarray, is_fake: np.ndarray) -> float | None:
    """P(a fake's value > a real's) + half P(equal); None without both classes."""
    fakes = int(is_fake.sum())
    reals = len(is_fake) - fakes
    if not fakes or not reals:
        return None
    ranks = average_ranks(values)
    return float((ranks[is_fake].sum() - fakes * (fakes + 1) / 2) / (fakes * reals))


def hanley_mcneil_variance(auc: float, fakes: int, reals: int) -> float:
    """The variance of an AUC measured on ``fakes`` and ``reals`` files whose true AUC is
    ``auc`` (Hanley and McNeil, Radiology 1982: Q1 = A / (2 - A), Q2 = 2A^2 / (1 + A))."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    spread = auc * (1 - auc) + (fakes - 1) * (q1 - auc * auc) + (reals - 1) * (q2 - auc * auc)
    return max(0.0, spread) / (fakes * reals)


def auc_interval(auc: float, fakes: int, reals: int, z: float = Z_95) -> tuple[float, float]:
    """The 95 % confidence interval of an AUC: the true AUCs A whose Hanley-McNeil standard
    error puts the measured one within ``z`` of them, |auc - A| <= z * SE(A) (score-style, as
    Wilson's interval for a proportion; Newcombe, Statistics in Medicine 2006). AUC +- z * SE
    at the measured AUC collapses to a point at 0 and 1, where SE is 0: this one does not
    (3 fakes and 3 reals in perfect order give 0.50 to 1.00; 40 and 40, 0.95 to 1.00)."""

    def outside(candidate: float) -> bool:
        variance = hanley_mcneil_variance(candidate, fakes, reals)
        return (auc - candidate) ** 2 > z * z * variance

    def boundary(inside: float, beyond: float) -> float:
        """Where ``outside`` turns true between ``inside`` (false) and ``beyond``."""
        if not outside(beyond):
            return beyond
        for _ in range(BISECTION_STEPS):
            middle = (inside + beyond) / 2
            inside, beyond = (inside, middle) if outside(middle) else (middle, beyond)
        return inside

    return boundary(auc, 0.0), boundary(auc, 1.0)


def fake_share_by_code(codes: np.ndarray, is_fake: np.ndarray, categories: int) -> np.ndarray:
    """The share of fakes among the files of each category code (0 for absent ones)."""
    files = np.bincount(codes, minlength=categories)
    fakes = np.bincount(codes, weights=is_fake, minlength=categories)
    return np.divide(fakes, files, out=np.zeros(categories), where=files > 0)


@dataclass
class PropertyTable:
    """``properties.csv`` as arrays: amounts as float32, categories as codes into their names.
    Read in one pass, 4 bytes a property and file."""

    split_codes: np.ndarray  # int8: index into SPLITS
    is_fake: np.ndarray  # bool
    columns: dict[str, np.ndarray]
    categories: dict[str, list[str]]  # code -> name, for categorical properties
    # Several corpora: each file's corpus as a code into ``corpora`` (int16); None for one.
    corpus_codes: np.ndarray | None = None
    corpora: list[str] | None = None

    @classmethod
    def read(cls, path: str | Path, manifest_path: str | Path | None = None) -> PropertyTable:
        """``manifest_path``: a manifest of several corpora, for each file's corpus (walked
        along, both being in manifest order)."""
        amounts = {name: array("f") for name in PROPERTIES if name not in CATEGORICAL}
        codes = {name: array("i") for name in CATEGORICAL}
        known: dict[str, dict[str, int]] = {name: {} for name in CATEGORICAL}
        split_codes, labels = array("b"), array("b")
        corpus_of = CorpusOfSamples(manifest_path) if manifest_path is not None else None
        corpus_codes, corpora = array("h"), {}
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            index = {name: position for position, name in enumerate(next(reader))}
            for row in reader:
                if corpus_of is not None:
                    corpus = corpus_of.corpus(row[index["path"]], row[index["split"]])
                    corpus_codes.append(corpora.setdefault(corpus, len(corpora)))
                split_codes.append(SPLITS.index(row[index["split"]]))
                labels.append(int(row[index["label"]]))
                for name, values in amounts.items():
                    values.append(float(row[index[name]]))
                for name, values in codes.items():
                    values.append(known[name].setdefault(row[index[name]], len(known[name])))
        columns = {name: np.frombuffer(v, dtype=np.float32) for name, v in amounts.items()}
        columns |= {name: np.frombuffer(v, dtype=np.int32) for name, v in codes.items()}
        return cls(
            split_codes=np.frombuffer(split_codes, dtype=np.int8),
            is_fake=np.frombuffer(labels, dtype=np.int8) == FAKE,
            columns=columns,
            categories={name: list(names) for name, names in known.items()},
            corpus_codes=np.frombuffer(corpus_codes, dtype=np.int16) if corpus_of else None,
            corpora=list(corpora) if corpus_of else None,
        )

    def rows(self, split: str) -> np.ndarray:
        return self.split_codes == SPLITS.index(split)

    def scores(self, name: str, rows: np.ndarray) -> np.ndarray:
        """What the AUC of ``name`` on ``rows`` is computed from: the amount, or for a
        category its share of fakes among ``rows`` (the best order a rule on it can use)."""
        values = self.columns[name][rows]
        if name not in CATEGORICAL:
            return values
        shares = fake_share_by_code(values, self.is_fake[rows], len(self.categories[name]))
        return shares[values]

    def typical(self, name: str, rows: np.ndarray) -> Any:
        """The median of an amount; the most common category (alphabetically first of equals);
        None for no files."""
        values = self.columns[name][rows]
        if not len(values):
            return None
        if name not in CATEGORICAL:
            return float(f"{np.median(values):.6g}")
        counts = np.bincount(values, minlength=len(self.categories[name]))
        tied = [self.categories[name][code] for code in np.flatnonzero(counts == counts.max())]
        return min(tied)


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
    result: dict[str, Any] = {"threshold": threshold, "properties": {}}
    if table.corpora is not None:
        result[CORPUS] = _corpus_entry(table)
    for name in PROPERTIES:
        result["properties"][name] = _property_entry(table, name)
    design = np.column_stack([_model_input(table, name) for name in PROPERTIES])
    result["combined"] = _combined_entry(design, table)
    result["flagged"] = flagged(result, threshold)
    return result


def _corpus_rows(table: PropertyTable, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Each corpus's files among ``rows`` (corpora without any left out), by name."""
    assert table.corpus_codes is not None and table.corpora is not None
    found = {name: rows & (table.corpus_codes == code) for code, name in enumerate(table.corpora)}
    return {name: found[name] for name in sorted(found) if found[name].any()}


def _corpus_entry(table: PropertyTable) -> dict:
    """How well the corpus alone tells real from fake, per split: the AUC of each file's
    corpus's share of fakes in the split (the best any rule on the corpus can do there), and
    per corpus its files of each class and its share of fakes."""
    assert table.corpus_codes is not None and table.corpora is not None
    by_split = {}
    for split in SPLITS:
        rows = table.rows(split)
        codes, fakes = table.corpus_codes[rows], table.is_fake[rows]
        shares = fake_share_by_code(codes, fakes, len(table.corpora))
        by_corpus = {}
        for name, within in _corpus_rows(table, rows).items():
            fake = int(table.is_fake[within].sum())
            files = int(within.sum())
            by_corpus[name] = {"real": files - fake, "fake": fake,
                               "fake_share": round(fake / files, 4)}  # fmt: skip
        by_split[split] = {**_auc_entry(shares[codes], fakes), "by_corpus": by_corpus}
    return {
        "description": "corpus the file comes from",
        "kind": "categorical",
        "by_split": by_split,
    }


def _property_entry(table: PropertyTable, name: str) -> dict:
    by_split = {}
    for split in SPLITS:
        rows = table.rows(split)
        fakes = table.is_fake
        by_split[split] = {
            **_auc_entry(table.scores(name, rows), fakes[rows]),
            "real": table.typical(name, rows & ~fakes),
            "fake": table.typical(name, rows & fakes),
        }
        if table.corpora is not None:
            by_split[split]["by_corpus"] = {
                corpus: _within_corpus_entry(table, name, within)
                for corpus, within in _corpus_rows(table, rows).items()
            }
    return {
        "description": DESCRIPTIONS[name],
        "kind": "categorical" if name in CATEGORICAL else "numeric",
        "by_split": by_split,
    }


def _auc_entry(scores: np.ndarray, is_fake: np.ndarray) -> dict:
    """The AUC, its 95 % interval (``auc_low``, ``auc_high``), the separation max(AUC,
    1 - AUC) with its interval's lower end (``separation_low``, what flagging uses), and the
    files per class it was measured on."""
    fakes, reals = int(is_fake.sum()), int(len(is_fake) - is_fake.sum())
    auc = roc_auc(scores, is_fake)
    if auc is None:
        return {**EMPTY_AUC, "files": {"real": reals, "fake": fakes}}
    low, high = auc_interval(auc, fakes, reals)
    # The separation's interval is the AUC's, mirrored where the AUC is below a half.
    separation_low = low if auc >= 0.5 else 1 - high
    return {
        "auc": round(auc, 4),
        "auc_low": round(low, 4),
        "auc_high": round(high, 4),
        "separation": round(max(auc, 1 - auc), 4),
        "separation_low": round(max(0.5, separation_low), 4),
        "files": {"real": reals, "fake": fakes},
    }


def _within_corpus_entry(table: PropertyTable, name: str, rows: np.ndarray) -> dict:
    """The property's AUC among one corpus's files (a category scored by its share of fakes
    in that corpus); not measured (None) below ``WITHIN_CORPUS_FILES`` of either class."""
    is_fake = table.is_fake[rows]
    fakes, reals = int(is_fake.sum()), int(len(is_fake) - is_fake.sum())
    if min(fakes, reals) < WITHIN_CORPUS_FILES:
        return {**EMPTY_AUC, "files": {"real": reals, "fake": fakes}}
    return _auc_entry(table.scores(name, rows), is_fake)


EMPTY_AUC = {"auc": None, "auc_low": None, "auc_high": None, "separation": None,
             "separation_low": None}  # fmt: skip


def separation_interval(result: dict) -> tuple[float, float]:
    """(low, high) of max(AUC, 1 - AUC) from an entry's AUC interval."""
    low, high = result["auc_low"], result["auc_high"]
    if result["auc"] >= 0.5:
        return max(0.5, low), high
    return max(0.5, 1 - high), 1 - low


def _model_input(table: PropertyTable, name: str) -> np.ndarray:
    """The property as the combined model sees it: categories as their share of fakes in the
    training split (unseen ones as the overall share), amounts standardised on training."""
    training = table.rows(TRAINING)
    values = table.columns[name]
    if name in CATEGORICAL:
        count = len(table.categories[name])
        seen = np.bincount(values[training], minlength=count) > 0
        shares = fake_share_by_code(values[training], table.is_fake[training], count)
        overall = float(table.is_fake[training].mean()) if training.any() else 0.5
        return np.where(seen, shares, overall)[values].astype(np.float32)
    if not len(values):
        return values.astype(np.float32)
    reference = values[training] if training.any() else values
    centre, spread = float(np.mean(reference)), float(np.std(reference))
    return ((values - centre) / (spread if spread > 0 else 1.0)).astype(np.float32)


def _combined_entry(design: np.ndarray, table: PropertyTable) -> dict:
    training, is_fake = table.rows(TRAINING), table.is_fake
    entry: dict[str, Any] = {
        "description": "logistic regression on every property, fit on the training split",
        "by_split": {split: dict(EMPTY_AUC) for split in SPLITS},
    }
    varying = design[:, np.ptp(design[training], axis=0) > 0] if training.any() else design[:, :0]
    rarer = min(int(is_fake[training].sum()), int((~is_fake[training]).sum()))
    needed = EVENTS_PER_PROPERTY * varying.shape[1]
    if not varying.shape[1] or rarer < needed:
        entry["skipped"] = (
            f"not fit: {rarer} training files of the rarer class, {needed} needed for "
            f"{varying.shape[1]} varying properties"
        )
        return entry
    design = varying
    weights = fit_logistic(design[training], is_fake[training])
    scores = design @ weights[1:] + weights[0]
    for split in SPLITS:
        rows = table.rows(split)
        entry["by_split"][split] = _auc_entry(scores[rows], is_fake[rows])
    return entry


def fit_logistic(features: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Intercept and weights of an L2-regularised logistic regression (Newton's method)."""
    inputs = np.column_stack([np.ones(len(features)), features.astype(np.float64)])
    weights = np.zeros(inputs.shape[1])
    penalty = RIDGE * len(inputs) * np.eye(inputs.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(NEWTON_STEPS):
        probability = 1.0 / (1.0 + np.exp(-np.clip(inputs @ weights, -30, 30)))
        gradient = inputs.T @ (probability - targets) + penalty @ weights
        hessian = (inputs * (probability * (1 - probability))[:, None]).T @ inputs + penalty
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    return weights


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
