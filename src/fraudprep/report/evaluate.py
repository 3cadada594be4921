"""Scores of a trained detector against the manifest: EER and min DCF, overall, per split and
per attack, per corpus and per attack within a corpus (a manifest of several corpora, config
``corpora``), and a DET curve.

    python -m fraudprep.report.evaluate scores.csv --output-dir data/preprocessed --det det.png

A score file is a CSV or TSV with ``path`` (or ``utt``) and ``score`` columns, or the
ASVspoof form: one ``<utterance id> <score>`` pair per line. Keys are matched to manifest rows
by path, or by file name without extension (ASVspoof utterance ids). As in ASVspoof, a higher
score means "more likely bona fide" unless ``--higher-is-fake`` is given.

With several corpora, a key may be qualified by its corpus: a ``corpus`` column beside
``path``/``utt``, or ``<corpus>:<key>``. A qualified key matches that corpus's files only, so
score files of several corpora whose utterance ids collide are matched by corpus and path or
name; an unqualified key naming files of two corpora stops it, as any ambiguous key does, and
so does one scored twice (one folder listed as two corpora): both messages say to qualify it.

Thresholds fall only between distinct scores: trials of equal score are called alike, so the
error rates are the ROC points a detector can reach (as ``sklearn.metrics.roc_curve``), and
constant scores give an EER of 50 %.

Nothing wrong is evaluated as if it were right. These stop it (one line naming the file and
line, exit status 1): a score that is not a finite number (``nan``, ``inf``, ``high``), a key
scored twice (even with the same value), a manifest file scored by two keys, a key (a file
name) that names several manifest files (score by path, or pick one split with ``--split``),
no score matching the manifest, and scores of one class only (no EER without both). These
are counted and printed as warnings, and the metrics cover only the files really scored, each
once: scores that match no manifest file, and files of a scored split that have no score. A
group of the table with one class only (a split of bona fide files only) shows ``n/a``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from fraudprep.base.layout import MANIFEST
from fraudprep.inputs.datasets.common import open_listing
from fraudprep.inputs.manifest import SPLITS, ManifestError, ManifestRow, iter_manifest

# ASVspoof 5's minimum detection cost: miss costs 1, a false alarm 10, spoofs are 5 % of trials.
DCF_MISS, DCF_FALSE_ALARM, DCF_SPOOF_PRIOR = 1.0, 10.0, 0.05


@dataclass(frozen=True)
class Result:
    """One group of trials: how many of each class, its EER and its normalised min DCF (None
    for a group with one class only, where neither exists)."""

    group: str
    bonafide: int
    spoof: int
    eer: float | None
    min_dcf: float | None


def error_rates(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(miss rate, false-alarm rate) at every threshold: below all scores, then at each
    distinct score, a trial scoring above it called bona fide (scores: higher = more bona
    fide). Trials of equal score are always called alike: a threshold never falls inside a
    group of equal scores, so ties give only the ROC points a detector can reach."""
    scores = np.concatenate([bonafide, spoof])
    is_bonafide = np.concatenate([np.ones(len(bonafide)), np.zeros(len(spoof))])
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    # The last trial of each run of equal scores: thresholds fall only between distinct values.
    last = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], len(ordered) > 0))
    below = np.cumsum(is_bonafide[order])[last]  # bona fide trials at or below each threshold
    miss = np.concatenate([[0.0], below / len(bonafide)])
    false_alarm = np.concatenate([[1.0], 1 - (last + 1 - below) / len(spoof)])
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


class ScoreError(ValueError):
    """Scores that cannot be evaluated as they are; the message names the file, the line and
    what to do."""


class Score(NamedTuple):
    value: float
    line: int  # 1-based line of the score file, so that messages can point at it


# (line, key, score as written) of one line of a score file; None for a missing cell.
Entry = tuple[int, str | None, str | None]

# How many keys or paths a message quotes: enough to recognise the pattern, still one line.
EXAMPLES = 3
# How to tell the corpus of a key, as the module's docstring has it.
QUALIFY = "qualify it with its corpus: a corpus column (corpus,path,score), or <corpus>:<key>"


def read_scores(
    path: str | os.PathLike[str], corpora_of: Callable[[str], list[str]] | None = None
) -> dict[str, Score]:
    """Key -> score (with its line) from a CSV/TSV with a header (path or utt, score) or
    ``utt score`` lines; :class:`ScoreError` for a missing key, a score that is not a finite
    number or a key given twice. ``corpora_of`` (the corpora whose files a key names) lets the
    message for a key given twice say how to score a file of two corpora."""
    with open_listing(path) as handle:
        first = handle.readline()
        handle.seek(0)
        if "score" in first.lower():
            return _collect(path, _table_entries(handle, first, path), corpora_of)
        return _collect(path, _pair_entries(handle), corpora_of)


def manifest_corpora(manifest: Path) -> Callable[[str], list[str]]:
    """For :func:`read_scores`: the corpora of the manifest files a key names (by path or file
    name, as :func:`join_scores` matches them); none if the manifest cannot be read, which
    the join then reports."""

    def corpora_of(key: str) -> list[str]:
        found: dict[str, None] = {}
        try:
            for row in iter_manifest(manifest):
                name = Path(row.path).name
                if row.corpus and key in (row.path, name, Path(name).stem):
                    found[row.corpus] = None
        except (ManifestError, OSError):
            return []
        return list(found)

    return corpora_of


def _table_entries(handle: IO[str], first: str, path: object) -> Iterator[Entry]:
    delimiter = "\t" if "\t" in first else ","
    reader = csv.DictReader(handle, delimiter=delimiter)
    key = next((c for c in reader.fieldnames or [] if c.lower() in ("path", "utt")), None)
    score = next((c for c in reader.fieldnames or [] if c.lower() == "score"), None)
    corpus = next((c for c in reader.fieldnames or [] if c.lower() == "corpus"), None)
    if key is None or score is None:
        raise ScoreError(f"{path}: needs a path (or utt) and a score column")
    for record in reader:
        qualifier = (record[corpus] or "").strip() if corpus else ""
        name = record[key]
        yield reader.line_num, f"{qualifier}:{name}" if qualifier and name else name, record[score]


def _pair_entries(handle: IO[str]) -> Iterator[Entry]:
    for number, line in enumerate(handle, 1):
        fields = line.split()
        if fields:  # ASVspoof's score files keep the score last, after system and key columns
            yield number, fields[0], fields[-1] if len(fields) > 1 else None


def _collect(
    path: object, entries: Iterable[Entry], corpora_of: Callable[[str], list[str]] | None
) -> dict[str, Score]:
    """The scores, once every line has been checked: the first problem is reported with how
    many lines have one, so that a file of NaN is one message, not thousands."""
    scores: dict[str, Score] = {}
    first_problem, problems = "", 0
    for line, key, text in entries:
        # Only the first problem is shown: only its key is looked up in the manifest.
        problem = _problem(key, text, scores, None if first_problem else corpora_of)
        if problem:
            first_problem, problems = first_problem or f"line {line}: {problem}", problems + 1
        else:
            scores[str(key)] = Score(float(str(text)), line)
    if problems:
        more = f" ({problems} lines have a problem)" if problems > 1 else ""
        raise ScoreError(f"{path} {first_problem}{more}")
    return scores


def _problem(
    key: str | None,
    text: str | None,
    scores: dict[str, Score],
    corpora_of: Callable[[str], list[str]] | None = None,
) -> str:
    """What is wrong with one line, with what to do, or "" if nothing is."""
    if not key or text is None:
        return "needs a path (or utterance id) and a score"
    try:
        value = float(text)
    except ValueError:
        return f"score {text!r} of {key} is not a number; write scores as numbers"
    if not math.isfinite(value):  # NaN sorts anywhere: it would give any EER at all
        return (
            f"score {text!r} of {key} is not a finite number; fix the detector's output, "
            "or leave out the files it cannot score"
        )
    if key in scores:
        corpora = corpora_of(key) if corpora_of else []
        if len(corpora) > 1:  # one folder listed as two corpora: a file of each
            return (
                f"{key} is scored again (first at line {scores[key].line}) and names files of "
                f"{len(corpora)} corpora ({', '.join(corpora[:EXAMPLES])}); to score each, "
                f"{QUALIFY}"
            )
        return f"{key} is scored again (first at line {scores[key].line}); score each file once"
    return ""


@dataclass
class Joined:
    """Scores joined with the manifest: each scored row once, and what did not join."""

    scored: list[tuple[ManifestRow, float]]
    unmatched: list[tuple[str, Score]]  # scores that match no manifest row
    unscored: dict[str, tuple[int, int, list[str]]]  # split -> (no score, files, examples)


def join_scores(
    scores: dict[str, Score],
    rows: Iterable[ManifestRow],
    split: str | None = None,
    source: object = "scores",
) -> Joined:
    """Manifest rows (of ``split`` only, if given) that have a score, matched by path or by
    file name with or without extension. A key that matches several rows, or a row matched
    by several keys, is :class:`ScoreError`: a score is never counted twice."""
    matches: dict[str, list[ManifestRow]] = {}
    files: dict[str, int] = {}
    missing: dict[str, list[str]] = {}  # split -> examples of rows without a score
    missing_count: dict[str, int] = {}
    for row in rows:
        if split is not None and row.split != split:
            continue
        files[row.split] = files.get(row.split, 0) + 1
        name = Path(row.path).name
        candidates = tuple(dict.fromkeys((row.path, name, Path(name).stem)))
        if row.corpus:  # keys qualified by the corpus match its files only
            candidates += tuple(f"{row.corpus}:{key}" for key in candidates)
        keys = [key for key in candidates if key in scores]
        if len(keys) > 1:
            raise ScoreError(
                f"{source} lines {scores[keys[0]].line} and {scores[keys[1]].line}: "
                f"{keys[0]} and {keys[1]} both score {row.path}; score each file once"
            )
        if keys:
            matches.setdefault(keys[0], []).append(row)
        else:
            missing_count[row.split] = missing_count.get(row.split, 0) + 1
            examples = missing.setdefault(row.split, [])
            if len(examples) < EXAMPLES:
                examples.append(row.path)
    for key, matched in matches.items():
        if len(matched) > 1:
            raise _ambiguous(key, matched, scores[key].line, source, split)
    scored_splits = {matched[0].split for matched in matches.values()}
    return Joined(
        scored=[(matched[0], scores[key].value) for key, matched in matches.items()],
        unmatched=[(key, score) for key, score in scores.items() if key not in matches],
        unscored={
            name: (missing_count[name], files[name], missing[name])
            for name in SPLITS
            if name in scored_splits and missing_count.get(name)
        },
    )


def _ambiguous(
    key: str, matched: list[ManifestRow], line: int, source: object, split: str | None
) -> ScoreError:
    shown = ", ".join(
        f"{row.path} ({row.corpus + ', ' if row.corpus else ''}{row.split})"
        for row in matched[:EXAMPLES]
    )
    splits = {row.split for row in matched}
    narrow = " or pick one split with --split" if split is None and len(splits) > 1 else ""
    if len({row.corpus for row in matched}) > 1:
        narrow += f", or {QUALIFY}"
    return ScoreError(
        f"{source} line {line}: {key} names {len(matched)} manifest files ({shown}); "
        f"score by path{narrow}"
    )


def evaluate(
    scored: Sequence[tuple[ManifestRow, float]], higher_is_fake: bool = False
) -> list[Result]:
    """Overall, per split and per attack (each attack's spoofs against every bona fide trial,
    as ASVspoof reports them) results; with corpora, then per corpus and per attack within a
    corpus (against that corpus's bona fide trials). A group with one class only has no EER
    (None)."""
    sign = -1.0 if higher_is_fake else 1.0
    groups: dict[str, tuple[list[float], list[float]]] = {"all": ([], [])}

    def add(group: str, row: ManifestRow, score: float) -> None:
        bonafide, spoof = groups.setdefault(group, ([], []))
        (spoof if row.label else bonafide).append(sign * score)

    for row, score in scored:
        if not math.isfinite(score):  # NaN sorts anywhere: it would give any EER at all
            raise ScoreError(f"{row.path}: score {score} is not a finite number")
        add("all", row, score)
        add(f"split {row.split}", row, score)
    attacks = sorted({row.attack for row, _ in scored if row.label} - {"", "-"})
    for attack in attacks:
        spoof = [sign * score for row, score in scored if row.label and row.attack == attack]
        groups[f"attack {attack}"] = (groups["all"][0], spoof)
    splits = [f"split {split}" for split in SPLITS if f"split {split}" in groups]
    ordered = ["all", *splits, *(f"attack {attack}" for attack in attacks)]
    for corpus in sorted({row.corpus for row, _ in scored} - {""}):
        ordered.append(f"corpus {corpus}")
        in_corpus = [(row, score) for row, score in scored if row.corpus == corpus]
        for row, score in in_corpus:
            add(f"corpus {corpus}", row, score)
        bonafide = groups[f"corpus {corpus}"][0]
        for attack in sorted({row.attack for row, _ in in_corpus if row.label} - {"", "-"}):
            spoof = [sign * s for row, s in in_corpus if row.label and row.attack == attack]
            groups[f"corpus {corpus} attack {attack}"] = (bonafide, spoof)
            ordered.append(f"corpus {corpus} attack {attack}")
    return [_result(group, *groups[group]) for group in ordered]


def _result(group: str, bonafide: list[float], spoof: list[float]) -> Result:
    if not (bonafide and spoof):
        return Result(group, len(bonafide), len(spoof), None, None)
    return Result(
        group,
        len(bonafide),
        len(spoof),
        equal_error_rate(bonafide, spoof),
        min_dcf(bonafide, spoof),
    )


def plot_det(scored: Sequence[tuple[ManifestRow, float]], path: str | Path, higher_is_fake: bool):
    """The DET curve (miss against false-alarm rate on normal-deviate axes) as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy.stats import norm

    from fraudprep.base.atomic import atomic_write

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


def main(
    argv: Sequence[str] | None = None, prog: str = "python -m fraudprep.report.evaluate"
) -> int:
    """The command line; ``prog`` is how its usage line names it (``fraudprep evaluate``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("scores", help="score file: CSV/TSV with path,score or 'utt score' lines")
    parser.add_argument("--output-dir", default="data/preprocessed", help="holds manifest.csv")
    parser.add_argument("--higher-is-fake", action="store_true", help="scores rise with fakeness")
    parser.add_argument("--split", choices=SPLITS, help="evaluate this split's files only")
    parser.add_argument("--det", help="write the DET curve to this PNG")
    args = parser.parse_args(argv)
    try:
        return report(args)
    except (ScoreError, ManifestError, OSError) as error:  # the user's input: no traceback
        print(f"fraudprep: {error}", file=sys.stderr)
        return 1


def report(args: argparse.Namespace) -> int:
    """Print the warnings and the table (and draw the DET curve); raise what stops it."""
    manifest = Path(args.output_dir) / MANIFEST
    scores = read_scores(args.scores, manifest_corpora(manifest))
    if not scores:
        raise ScoreError(f"{args.scores}: holds no score; write one path,score line per file")
    joined = join_scores(scores, iter_manifest(manifest), args.split, args.scores)
    where = f"{manifest}" + (f" ({args.split} files)" if args.split else "")
    if not joined.scored:
        key, first = joined.unmatched[0]
        raise ScoreError(
            f"no score in {args.scores} matches a file of {where} (line {first.line}: {key}); "
            "keys are the manifest's paths or file names"
        )
    warn_unjoined(joined, len(scores), args.scores, where)
    results = evaluate(joined.scored, args.higher_is_fake)
    overall = results[0]
    if overall.eer is None:
        raise ScoreError(
            f"{args.scores}: its {len(joined.scored)} scored files are all "
            f"{'spoof' if overall.spoof else 'bona fide'}; EER and min DCF need both classes: "
            "score files of the other class too"
        )
    print(f"{len(joined.scored)} scored files of {where}")
    width = max(24, *(len(result.group) + 1 for result in results))
    print(f"{'group':<{width}} {'bona fide':>9} {'spoof':>7} {'EER %':>7} {'min DCF':>8}")
    for result in results:
        eer = "n/a" if result.eer is None else f"{100 * result.eer:.2f}"
        dcf = "n/a" if result.min_dcf is None else f"{result.min_dcf:.4f}"
        print(f"{result.group:<{width}} {result.bonafide:>9} {result.spoof:>7} {eer:>7} {dcf:>8}")
    if args.det:
        plot_det(joined.scored, args.det, args.higher_is_fake)
        print(f"DET curve: {args.det}")
    return 0


def warn_unjoined(joined: Joined, score_count: int, source: str, where: str) -> None:
    """Count, with examples, the scores left out and the files of a scored split without one:
    the table covers only what was scored, and says so."""
    if joined.unmatched:
        shown = ", ".join(f"line {s.line}: {key}" for key, s in joined.unmatched[:EXAMPLES])
        print(
            f"fraudprep: warning: {len(joined.unmatched)} of {score_count} scores in {source} "
            f"match no file of {where} and are left out ({shown}); check their paths or ids",
            file=sys.stderr,
        )
    for split, (missing, files, examples) in joined.unscored.items():
        print(
            f"fraudprep: warning: {missing} of {files} {split} files of {where} have no score "
            f"in {source} ({', '.join(examples)}); the metrics cover the "
            f"{files - missing} scored",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
