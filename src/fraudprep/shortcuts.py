"""Shortcut check: how well each per-file property alone tells real from fake, per split.

A detector learns whatever separates the classes; when silence, level, codec or bandwidth do,
it can score well without listening to the voice (Müller et al., "Speech is Silver, Silence
is Golden", Interspeech 2021: leading silence alone separated ASVspoof 2019 LA). Each property
gets the ROC AUC of "fake" against its value, computed exactly from ranks (Mann-Whitney U,
ties counted half); categories (sample rate, channels, codec) are ordered by their share of
fakes in the split, which gives the best AUC any rule on the category alone can reach. All
properties together: a logistic regression fit on the training split, scored on every split.

Memory: one float32 per property and file (about 60 MB per million files) while the table is
measured; the properties table is read one column at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from fraudprep.manifest import FAKE, SPLITS, TRAINING
from fraudprep.properties import CATEGORICAL, DESCRIPTIONS, PROPERTIES

DEFAULT_THRESHOLD = 0.8
COMBINED = "all properties together"
RIDGE = 1e-3  # keeps the fit finite when a property separates the training split perfectly
NEWTON_STEPS = 25
# Logistic regression's rule of thumb: ten files of the rarer class per property fitted, or
# the fit learns the training files by heart and its AUC elsewhere is chance.
EVENTS_PER_PROPERTY = 10


def roc_auc(values: np.ndarray, is_fake: np.ndarray) -> float | None:
    """P(a fake's value > a real's) + half P(equal); None without both classes."""
    fakes = int(is_fake.sum())
    reals = len(is_fake) - fakes
    if not fakes or not reals:
        return None
    ranks = rankdata(values)  # ties share their average rank
    return float((ranks[is_fake].sum() - fakes * (fakes + 1) / 2) / (fakes * reals))


def category_scores(categories: pd.Series, is_fake: np.ndarray) -> np.ndarray:
    """Each file's category replaced by the share of fakes in that category."""
    share = pd.Series(is_fake, index=categories.index).groupby(categories.values).mean()
    return categories.map(share).to_numpy(dtype=np.float64)


@dataclass
class _Column:
    name: str
    values: pd.Series  # as read: numbers, or category names as text


def _read_column(path: Path, name: str) -> pd.Series:
    categorical = name in CATEGORICAL
    column = pd.read_csv(path, usecols=[name], dtype={name: str} if categorical else None)[name]
    return column if categorical else column.astype(np.float64)


def shortcut_table(properties_path: str | Path, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """``dataset_stats['shortcuts']``: per property and split the AUC, the separation
    (max(AUC, 1 - AUC)) and each class's typical value; the combined model's AUC per split;
    the properties whose separation exceeds ``threshold``, most separating first."""
    path = Path(properties_path)
    frame = pd.read_csv(path, usecols=["split", "label"], dtype={"split": str})
    splits = frame["split"].to_numpy()
    is_fake = frame["label"].to_numpy() == FAKE
    table: dict[str, Any] = {"threshold": threshold, "properties": {}}
    design = []  # one column a property, for the combined model
    for name in PROPERTIES:
        column = _Column(name, _read_column(path, name))
        table["properties"][name] = _property_entry(column, splits, is_fake)
        design.append(_model_input(column, splits, is_fake))
    design_matrix = np.column_stack(design) if design else None
    table["combined"] = _combined_entry(design_matrix, splits, is_fake)
    table["flagged"] = flagged(table, threshold)
    return table


def _property_entry(column: _Column, splits: np.ndarray, is_fake: np.ndarray) -> dict:
    categorical = column.name in CATEGORICAL
    by_split = {}
    for split in SPLITS:
        rows = splits == split
        values, fakes = column.values[rows], is_fake[rows]
        scores = category_scores(values, fakes) if categorical else values.to_numpy()
        by_split[split] = {
            **_auc_entry(scores, fakes),
            "real": _typical(values[~fakes], categorical),
            "fake": _typical(values[fakes], categorical),
        }
    return {
        "description": DESCRIPTIONS[column.name],
        "kind": "categorical" if categorical else "numeric",
        "by_split": by_split,
    }


def _auc_entry(scores: np.ndarray, is_fake: np.ndarray) -> dict:
    auc = roc_auc(scores, is_fake)
    return {
        "auc": None if auc is None else round(auc, 4),
        "separation": None if auc is None else round(max(auc, 1 - auc), 4),
    }


def _typical(values: pd.Series, categorical: bool) -> Any:
    """The median of an amount, the most common category; None for no files."""
    if values.empty:
        return None
    if categorical:
        return str(values.value_counts().sort_index().idxmax())
    return float(f"{values.median():.6g}")


def _model_input(column: _Column, splits: np.ndarray, is_fake: np.ndarray) -> np.ndarray:
    """The property as the combined model sees it: categories as their share of fakes in the
    training split (unseen ones as the overall share), amounts standardised on training."""
    training = splits == TRAINING
    if column.name in CATEGORICAL:
        share = pd.Series(is_fake[training]).groupby(column.values[training].to_numpy()).mean()
        overall = float(is_fake[training].mean()) if training.any() else 0.5
        return column.values.map(share).fillna(overall).to_numpy(dtype=np.float32)
    values = column.values.to_numpy(dtype=np.float64)
    if not len(values):
        return values.astype(np.float32)
    reference = values[training] if training.any() else values
    centre, spread = np.mean(reference), np.std(reference)
    return ((values - centre) / (spread if spread > 0 else 1.0)).astype(np.float32)


def _combined_entry(design: np.ndarray | None, splits: np.ndarray, is_fake: np.ndarray) -> dict:
    training = splits == TRAINING
    entry: dict[str, Any] = {
        "description": "logistic regression on every property, fit on the training split",
        "by_split": {split: {"auc": None, "separation": None} for split in SPLITS},
    }
    if design is None:
        return entry
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
        rows = splits == split
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
