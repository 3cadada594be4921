"""Shortcut check: how well each per-file property alone tells real from fake, per split.

A detector learns whatever separates the classes; when silence, level, codec or bandwidth do,
it can score well without listening to the voice (Müller et al., "Speech is Silver, Silence
is Golden", Interspeech 2021: leading silence alone separated ASVspoof 2019 LA). Each property
gets the ROC AUC of "fake" against its value, computed exactly from ranks (Mann-Whitney U,
ties counted half); categories (sample rate, channels, codec) are ordered by their share of
fakes in the split, which gives the best AUC any rule on the category alone can reach. All
properties together: a logistic regression fit on the training split, scored on every split.

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
from fraudprep.inputs.manifest import FAKE, SPLITS, TRAINING

DEFAULT_THRESHOLD = 0.8
COMBINED = "all properties together"
RIDGE = 1e-3  # keeps the fit finite when a property separates the training split perfectly
NEWTON_STEPS = 25
# Logistic regression's rule of thumb: ten files of the rarer class per property fitted, or
# the fit learns the training files by heart and its AUC elsewhere is chance.
EVENTS_PER_PROPERTY = 10


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

    @classmethod
    def read(cls, path: str | Path) -> PropertyTable:
        amounts = {name: array("f") for name in PROPERTIES if name not in CATEGORICAL}
        codes = {name: array("i") for name in CATEGORICAL}
        known: dict[str, dict[str, int]] = {name: {} for name in CATEGORICAL}
        split_codes, labels = array("b"), array("b")
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            index = {name: position for position, name in enumerate(next(reader))}
            for row in reader:
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


def shortcut_table(properties_path: str | Path, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """``dataset_stats['shortcuts']``: per property and split the AUC, the separation
    (max(AUC, 1 - AUC)) and each class's typical value; the combined model's AUC per split;
    the properties whose separation exceeds ``threshold``, most separating first."""
    table = PropertyTable.read(properties_path)
    result: dict[str, Any] = {"threshold": threshold, "properties": {}}
    for name in PROPERTIES:
        result["properties"][name] = _property_entry(table, name)
    design = np.column_stack([_model_input(table, name) for name in PROPERTIES])
    result["combined"] = _combined_entry(design, table)
    result["flagged"] = flagged(result, threshold)
    return result


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
    return {
        "description": DESCRIPTIONS[name],
        "kind": "categorical" if name in CATEGORICAL else "numeric",
        "by_split": by_split,
    }


def _auc_entry(scores: np.ndarray, is_fake: np.ndarray) -> dict:
    auc = roc_auc(scores, is_fake)
    return {
        "auc": None if auc is None else round(auc, 4),
        "separation": None if auc is None else round(max(auc, 1 - auc), 4),
    }


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
        "by_split": {split: {"auc": None, "separation": None} for split in SPLITS},
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
    """One entry per property (and the combined model) whose separation exceeds
    ``threshold`` on some split: the split where it separates most, and the warning."""
    entries = [(name, info["description"], info) for name, info in table["properties"].items()]
    entries.append((COMBINED, COMBINED, table["combined"]))
    found = []
    for name, description, info in entries:
        # The combined model is judged where it was not fit: on training it can separate
        # a small split by chance (many properties, few files).
        held_out = name == COMBINED
        worst = _most_separating_split(info["by_split"], skip=TRAINING if held_out else None)
        if worst is None or info["by_split"][worst]["separation"] <= threshold:
            continue
        result = info["by_split"][worst]
        found.append(
            {
                "property": name,
                "split": worst,
                "auc": result["auc"],
                "separation": result["separation"],
                "message": warning_message(name, description, worst, result),
            }
        )
    return sorted(found, key=lambda item: (-item["separation"], item["property"]))


def _most_separating_split(by_split: dict[str, dict], skip: str | None = None) -> str | None:
    known = [
        split for split in SPLITS if by_split[split]["separation"] is not None and split != skip
    ]
    return max(known, key=lambda split: by_split[split]["separation"], default=None)


def warning_message(name: str, description: str, split: str, result: dict) -> str:
    separation = result["separation"]
    if name == COMBINED:
        return (
            f"the file properties together separate real and fake (AUC {separation:.2f} on "
            f"{split}): a detector can learn them instead of the voice"
        )
    return (
        f"real and fake differ by {description} (AUC {separation:.2f} on {split}; "
        f"{_typical_values(result)}): a detector can learn this instead of the voice"
    )


def _typical_values(result: dict) -> str:
    real, fake = result["real"], result["fake"]
    if isinstance(real, str) or isinstance(fake, str):
        return f"mostly {real} in real files, {fake} in fake ones"
    return f"median {real:.3g} in real files, {fake:.3g} in fake ones"
