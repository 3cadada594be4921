"""Scores of a trained detector against the manifest: EER and min DCF, overall, per split and
per attack, and a DET curve.

    python -m fraudprep.evaluate scores.csv --output-dir data/preprocessed --det det.png

A score file is a CSV or TSV with ``path`` (or ``utt``) and ``score`` columns, or the
ASVspoof form: one ``<utterance id> <score>`` pair per line. Keys are matched to manifest rows
by path, or by file name without extension (ASVspoof utterance ids). As in ASVspoof, a higher
score means "more likely bona fide" unless ``--higher-is-fake`` is given.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraudprep.datasets.common import open_listing
from fraudprep.manifest import SPLITS, ManifestError, ManifestRow, iter_manifest

# ASVspoof 5's minimum detection cost: miss costs 1, a false alarm 10, spoofs are 5 % of trials.
DCF_MISS, DCF_FALSE_ALARM, DCF_SPOOF_PRIOR = 1.0, 10.0, 0.05


@dataclass(frozen=True)
class Result:
    """One group of trials: how many of each class, its EER and its normalised min DCF."""

    group: str
    bonafide: int
    spoof: int
    eer: float
    min_dcf: float


def error_rates(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(miss rate, false-alarm rate) at every threshold: at and after each sorted score a
    trial is called bona fide (scores: higher = more bona fide)."""
    scores = np.concatenate([bonafide, spoof])
    is_bonafide = np.concatenate([np.ones(len(bonafide)), np.zeros(len(spoof))])
    order = np.argsort(scores, kind="mergesort")
    below = np.cumsum(is_bonafide[order])  # bona fide trials at or below each threshold
    miss = np.concatenate([[0.0], below / len(bonafide)])
    false_alarm = np.concatenate([[1.0], 1 - (np.arange(1, len(scores) + 1) - below) / len(spoof)])
    return miss, false_alarm


def equal_error_rate(bonafide: Sequence[float], spoof: Sequence[float]) -> float:
    """Where miss and false-alarm rates cross (their mean at the closest threshold)."""
    miss, false_alarm = error_rates(np.asarray(bonafide, float), np.asarray(spoof, float))
    index = int(np.argmin(np.abs(miss - false_alarm)))
    return float((miss[index] + false_alarm[index]) / 2)


def min_dcf(bonafide: Sequence[float], spoof: Sequence[float]) -> float:
    """ASVspoof 5's normalised minimum detection cost over all thresholds."""
    miss, false_alarm = error_rates(np.asarray(bonafide, float), np.asarray(spoof, float))
    cost = DCF_MISS * (1 - DCF_SPOOF_PRIOR) * miss + DCF_FALSE_ALARM * DCF_SPOOF_PRIOR * false_alarm
    default = min(DCF_MISS * (1 - DCF_SPOOF_PRIOR), DCF_FALSE_ALARM * DCF_SPOOF_PRIOR)
    return float(cost.min() / default)


def read_scores(path: str | os.PathLike[str]) -> dict[str, float]:
    """Key -> score from a CSV/TSV with a header (path or utt, score) or ``utt score`` lines."""
    with open_listing(path) as handle:
        first = handle.readline()
        handle.seek(0)
        if "score" in first.lower():
            delimiter = "\t" if "\t" in first else ","
            reader = csv.DictReader(handle, delimiter=delimiter)
            key = next((c for c in reader.fieldnames or [] if c.lower() in ("path", "utt")), None)
            score = next((c for c in reader.fieldnames or [] if c.lower() == "score"), None)
            if key is None or score is None:
                raise ManifestError(f"{path}: needs a path (or utt) and a score column")
            return {row[key]: float(row[score]) for row in reader}
        pairs = (line.split() for line in handle if line.strip())
        return {fields[0]: float(fields[-1]) for fields in pairs}


def scored_rows(
    scores: dict[str, float], rows: Iterable[ManifestRow]
) -> list[tuple[ManifestRow, float]]:
    """Manifest rows that have a score, matched by path or by file name without extension."""
    matched = []
    for row in rows:
        stem = Path(row.path).stem
        for key in (row.path, Path(row.path).name, stem):
            if key in scores:
                matched.append((row, scores[key]))
                break
    return matched


def evaluate(
    scored: Sequence[tuple[ManifestRow, float]], higher_is_fake: bool = False
) -> list[Result]:
    """Overall, per split and per attack (each attack's spoofs against every bona fide trial,
    as ASVspoof reports them) results."""
    sign = -1.0 if higher_is_fake else 1.0
    groups: dict[str, tuple[list[float], list[float]]] = {}

    def add(group: str, row: ManifestRow, score: float) -> None:
        bonafide, spoof = groups.setdefault(group, ([], []))
        (spoof if row.label else bonafide).append(sign * score)

    for row, score in scored:
        add("all", row, score)
        add(f"split {row.split}", row, score)
    attacks = sorted({row.attack for row, _ in scored if row.label} - {"", "-"})
    for attack in attacks:
        spoof = [sign * score for row, score in scored if row.label and row.attack == attack]
        groups[f"attack {attack}"] = (groups["all"][0], spoof)
    splits = [f"split {split}" for split in SPLITS if f"split {split}" in groups]
    ordered = ["all", *splits, *(f"attack {attack}" for attack in attacks)]
    return [
        Result(group, len(b), len(s), equal_error_rate(b, s), min_dcf(b, s))
        for group in ordered
        for b, s in [groups[group]]
        if b and s
    ]


def plot_det(scored: Sequence[tuple[ManifestRow, float]], path: str | Path, higher_is_fake: bool):
    """The DET curve (miss against false-alarm rate on normal-deviate axes) as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.stats import norm

    from fraudprep.atomic import atomic_write

    sign = -1.0 if higher_is_fake else 1.0
    bonafide = np.array([sign * s for row, s in scored if not row.label])
    spoof = np.array([sign * s for row, s in scored if row.label])
    miss, false_alarm = error_rates(bonafide, spoof)
    clip = np.clip  # probit of 0 or 1 is infinite: keep the curve on the plot
    figure = Figure(figsize=(5, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.plot(norm.ppf(clip(false_alarm, 1e-4, 1 - 1e-4)), norm.ppf(clip(miss, 1e-4, 1 - 1e-4)))
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95]
    ax.set_xticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    ax.set_xlabel("false alarm rate (spoof accepted)")
    ax.set_ylabel("miss rate (bona fide rejected)")
    ax.set_title(f"DET, EER {100 * equal_error_rate(bonafide, spoof):.2f} %")
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", metadata={"Software": None})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scores", help="score file: CSV/TSV with path,score or 'utt score' lines")
    parser.add_argument("--output-dir", default="data/preprocessed", help="holds manifest.csv")
    parser.add_argument("--higher-is-fake", action="store_true", help="scores rise with fakeness")
    parser.add_argument("--det", help="write the DET curve to this PNG")
    args = parser.parse_args(argv)
    manifest = Path(args.output_dir) / "manifest.csv"
    scored = scored_rows(read_scores(args.scores), iter_manifest(manifest))
    if not scored:
        print(f"no score in {args.scores} matches a file of {manifest}", file=sys.stderr)
        return 1
    print(f"{len(scored)} scored files of {manifest}")
    print(f"{'group':<24} {'bona fide':>9} {'spoof':>7} {'EER %':>7} {'min DCF':>8}")
    for result in evaluate(scored, args.higher_is_fake):
        print(
            f"{result.group:<24} {result.bonafide:>9} {result.spoof:>7} "
            f"{100 * result.eer:>7.2f} {result.min_dcf:>8.4f}"
        )
    if args.det:
        plot_det(scored, args.det, args.higher_is_fake)
        print(f"DET curve: {args.det}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
