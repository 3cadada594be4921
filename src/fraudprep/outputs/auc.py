"""The AUC statistics of the shortcut check (:mod:`fraudprep.outputs.shortcuts`): the ROC AUC
of "fake" against a score, computed exactly from ranks (Mann-Whitney U, ties counted half), its
95 % confidence interval (:func:`auc_interval`), and the entry the shortcut table keeps of it
(:func:`auc_entry`: the AUC, its interval, the separation max(AUC, 1 - AUC) and the files it
was measured on).
"""

from __future__ import annotations

import numpy as np

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95 % intervals
BISECTION_STEPS = 60  # halvings of [0, 1]: far below the 4 decimals the table keeps


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


# An entry without an AUC: its files are of one class (or too few to measure).
EMPTY_AUC = {"auc": None, "auc_low": None, "auc_high": None, "separation": None,
             "separation_low": None}  # fmt: skip


def auc_entry(scores: np.ndarray, is_fake: np.ndarray) -> dict:
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


def separation_interval(result: dict) -> tuple[float, float]:
    """(low, high) of max(AUC, 1 - AUC) from an entry's AUC interval."""
    low, high = result["auc_low"], result["auc_high"]
    if result["auc"] >= 0.5:
        return max(0.5, low), high
    return max(0.5, 1 - high), 1 - low
