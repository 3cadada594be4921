"""The numbers of the shortcut check (:mod:`fraudprep.outputs.shortcuts`): ``properties.csv``
read into arrays (:class:`PropertyTable`), and from it, per split, each property's AUC with
its interval (:func:`fraudprep.outputs.auc.auc_entry`) and each class's typical value; with
several corpora, the corpus's own AUC and each property's within each corpus; and the AUC of
all properties together, a logistic regression fit on the training split.

A property's AUC is computed from its value; categories (sample rate, channels, codec) are
ordered by their share of fakes in the split, which gives the best AUC any rule on the
category alone can reach.

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
from fraudprep.outputs.auc import EMPTY_AUC, auc_entry
from fraudprep.outputs.dataset_stats import CorpusOfSamples

RIDGE = 1e-3  # keeps the fit finite when a property separates the training split perfectly
NEWTON_STEPS = 25
# Logistic regression's rule of thumb: ten files of the rarer class per property fitted, or
# the fit learns the training files by heart and its AUC elsewhere is chance.
EVENTS_PER_PROPERTY = 10
CORPUS = "corpus"  # the corpus entry's name, in the table and among the flagged
# A property's AUC within a corpus is measured where the corpus has this many files of each
# class in the split: fewer say nothing about it (3 and 3 in perfect order: 0.50 to 1.00).
WITHIN_CORPUS_FILES = 5


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


def measured(table: PropertyTable) -> dict[str, Any]:
    """The shortcut table's measurements: per property and split its AUC entry and each
    class's typical value (``properties``), with corpora the corpus's own (``corpus``), and the
    combined model's (``combined``)."""
    result: dict[str, Any] = {"properties": {}}
    if table.corpora is not None:
        result[CORPUS] = _corpus_entry(table)
    for name in PROPERTIES:
        result["properties"][name] = _property_entry(table, name)
    design = np.column_stack([_model_input(table, name) for name in PROPERTIES])
    result["combined"] = _combined_entry(design, table)
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
        by_split[split] = {**auc_entry(shares[codes], fakes), "by_corpus": by_corpus}
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
            **auc_entry(table.scores(name, rows), fakes[rows]),
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


def _within_corpus_entry(table: PropertyTable, name: str, rows: np.ndarray) -> dict:
    """The property's AUC among one corpus's files (a category scored by its share of fakes
    in that corpus); not measured (None) below ``WITHIN_CORPUS_FILES`` of either class."""
    is_fake = table.is_fake[rows]
    fakes, reals = int(is_fake.sum()), int(len(is_fake) - is_fake.sum())
    if min(fakes, reals) < WITHIN_CORPUS_FILES:
        return {**EMPTY_AUC, "files": {"real": reals, "fake": fakes}}
    return auc_entry(table.scores(name, rows), is_fake)


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
        entry["by_split"][split] = auc_entry(scores[rows], is_fake[rows])
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
