"""The report's figures drawn from a model's ``dataset_stats``: what went in (samples per
split, class, attack and corpus; durations; original sample rates, formats and decoders) and
what did not become a sample (failure reasons, the failures table). The example features are
:mod:`fraudprep.report.example_figures`; which figures the report has, and the entry point
that draws them, :mod:`fraudprep.report.report_plots`; the style and writers,
:mod:`fraudprep.report.kit`.

Every function takes plain data (the ``dataset_stats`` dictionary, file paths) and writes one
PNG or HTML page, so all of it is testable without Snakemake. Figures are drawn with
matplotlib's object-oriented API on the Agg canvas (no pyplot, no display, no global state),
at fixed sizes and resolution, without the matplotlib version or any date in the PNG metadata:
the same data gives the same bytes on every run.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.inputs.manifest import LABELS, SPLITS
from fraudprep.report.kit import (
    COLOURS,
    integer_axis,
    label_bars,
    message,
    new_figure,
    save_png,
    styled,
    write_html_table,
)

CLASSES = tuple(LABELS)  # ("real", "fake")
UNKNOWN_ATTACK = "-"
# Numbers in failure reasons (not digits inside words such as "mp3").
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)?(?:e[-+]?\d+)?")


# ----------------------------------------------------------------------------- reading inputs


def _count(value: Any) -> int:
    return int(value or 0)


def _title(stats: Mapping[str, Any], what: str) -> str:
    model = stats.get("model")
    return f"{model}: {what}" if model else what


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------- counts


def known_attacks(stats: Mapping[str, Any]) -> list[tuple[str, str, dict[str, int]]]:
    """(split, attack, {real, fake}) for every attack or system id other than unknown ("-").

    With several corpora (``stats['corpora']``), the rows of each corpus in turn, from its own
    attack counts, named ``<corpus> / <split>``; a corpus without named attacks has none.
    """
    corpora = stats.get("corpora") or {}
    if corpora:
        return [
            (f"{corpus} / {split}", name, counts)
            for corpus, per_corpus in corpora.items()
            for split, name, counts in known_attacks(per_corpus)
        ]
    attacks = stats.get("attacks") or {}
    if not any(name != UNKNOWN_ATTACK for per_split in attacks.values() for name in per_split):
        return []
    rows = []
    for split in SPLITS:
        for name, counts in sorted(attacks.get(split, {}).items()):
            label = "bona fide / unknown" if name == UNKNOWN_ATTACK else name
            rows.append((split, label, {c: _count(counts.get(c)) for c in CLASSES}))
    return rows


def counts_per_corpus(
    stats: Mapping[str, Any],
) -> list[tuple[str, str, dict[str, int], dict[str, int]]]:
    """(corpus, split, samples per class, failed files per class) for every split of every
    corpus that has files in it (``stats['corpora']``, config ``corpora``); [] for a single
    dataset."""
    rows = []
    for corpus, per_corpus in (stats.get("corpora") or {}).items():
        samples, failures = per_corpus.get("samples") or {}, per_corpus.get("failures") or {}
        for split in SPLITS:
            ok = {c: _count(samples.get(split, {}).get(c)) for c in CLASSES}
            failed = {c: _count(failures.get(split, {}).get(c)) for c in CLASSES}
            if any(ok.values()) or any(failed.values()):
                rows.append((corpus, split, ok, failed))
    return rows


def _class_bars(ax, x: np.ndarray, ok: Mapping[str, list], failed: Mapping[str, list]) -> None:
    """Per class, a bar of samples at each x, the failed files stacked on top in grey."""
    width = 0.38
    for offset, cls in zip((-width / 2, width / 2), CLASSES, strict=True):
        bars = ax.bar(x + offset, ok[cls], width, color=COLOURS[cls], label=f"{cls} samples")
        if any(failed[cls]):
            bars = ax.bar(
                x + offset,
                failed[cls],
                width,
                bottom=ok[cls],
                color=COLOURS["failed"],
                hatch="//",
                edgecolor="white",
                label="failed files" if cls == "real" else None,
            )
        labels = [f"{n} + {f}" if f else n for n, f in zip(ok[cls], failed[cls], strict=True)]
        label_bars(ax, bars, labels)


@styled
def plot_counts(stats: Mapping[str, Any], path: str | Path) -> Path:
    """Samples per split x class (failed files stacked on top), and per attack when known;
    with several corpora, a panel below of the same per corpus x split x class."""
    attacks = known_attacks(stats)
    per_corpus = counts_per_corpus(stats)
    attack_height = 0.22 * len(attacks) + 1.2
    height = max(4.0, attack_height) if attacks else 4.0
    columns = 2 if attacks else 1
    width = 11.0 if attacks else 7.0
    if per_corpus:  # one panel more, below, as wide as its bars need
        figure = new_figure(max(width, 0.8 * len(per_corpus) + 2.0), height + 4.0)
        grid = figure.add_gridspec(2, columns, height_ratios=(height, 4.0))
        axes = [figure.add_subplot(grid[0, column]) for column in range(columns)]
    else:
        figure = new_figure(width, height)
        axes = figure.subplots(1, columns, squeeze=False)[0]
    ax = axes[0]
    x = np.arange(len(SPLITS))
    samples, failures = stats.get("samples", {}), stats.get("failures", {})
    _class_bars(
        ax,
        x,
        {cls: [_count(samples.get(split, {}).get(cls)) for split in SPLITS] for cls in CLASSES},
        {cls: [_count(failures.get(split, {}).get(cls)) for split in SPLITS] for cls in CLASSES},
    )
    ax.set_xticks(x, SPLITS)
    ax.set_ylabel("files")
    integer_axis(ax.yaxis)
    total = stats.get("total_files")
    suffix = f" ({stats.get('total_samples')} of {total} files)" if total is not None else ""
    ax.set_title(_title(stats, f"samples per split and class{suffix}"))
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == "failed files")
    ax.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="upper right",
        fontsize=8,
        frameon=False,
    )
    ax.margins(y=0.15)
    _note_copies(ax, stats.get("augmented") or {})
    if attacks:
        _plot_attacks(axes[1], attacks)
    if per_corpus:
        _plot_corpora(figure.add_subplot(grid[1, :]), per_corpus)
    return save_png(figure, path)


def _plot_corpora(ax, rows: Sequence[tuple[str, str, dict[str, int], dict[str, int]]]) -> None:
    """The corpus panel: a group of bars per corpus and split, a gap between corpora."""
    corpora = [corpus for corpus, *_ in rows]
    order = list(dict.fromkeys(corpora))
    x = np.arange(len(rows)) + 0.6 * np.array([order.index(corpus) for corpus in corpora])
    _class_bars(
        ax,
        x,
        {cls: [ok[cls] for *_, ok, _ in rows] for cls in CLASSES},
        {cls: [failed[cls] for *_, failed in rows] for cls in CLASSES},
    )
    ax.set_xticks(x, [f"{corpus}\n{split}" for corpus, split, *_ in rows], fontsize=8)
    ax.set_ylabel("files")
    integer_axis(ax.yaxis)
    ax.set_title("per corpus: samples per split and class (failed files on top)")
    ax.margins(y=0.15)


def _note_copies(ax, augmented: Mapping[str, Any]) -> None:
    """Augmented copies (config augmentation) are not samples of a split: say how many there
    are under the chart rather than mixing them into its bars."""
    if not augmented:
        return
    parts = [f"{copies['samples']} in {split}" for split, copies in augmented.items()]
    ax.set_xlabel("augmented copies, in batches of their own: " + ", ".join(parts), fontsize=8)


def _plot_attacks(ax, attacks: Sequence[tuple[str, str, dict[str, int]]]) -> None:
    y = np.arange(len(attacks))[::-1]
    height = 0.4
    for offset, cls in zip((height / 2, -height / 2), CLASSES, strict=True):
        values = [counts[cls] for _, _, counts in attacks]
        bars = ax.barh(y + offset, values, height, color=COLOURS[cls], label=cls)
        label_bars(ax, bars, horizontal=True)
    ax.set_yticks(y, [f"{split} / {name}" for split, name, _ in attacks], fontsize=7)
    ax.set_xlabel("samples")
    integer_axis(ax.xaxis)
    ax.set_title("samples per attack or system")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.margins(x=0.12)


# ----------------------------------------------------------------------------- histograms


def _hours_or_minutes(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


@styled
def plot_durations(stats: Mapping[str, Any], path: str | Path) -> Path:
    """The duration histogram of the samples, bins from shortest to longest."""
    histogram = stats.get("duration_histogram") or {}
    figure = new_figure(8.0, 4.0)
    ax = figure.subplots()
    if not histogram or not any(histogram.values()):
        message(ax, "no samples: no durations to show")
    else:
        labels, counts = list(histogram), [_count(v) for v in histogram.values()]
        bars = ax.bar(np.arange(len(labels)), counts, 0.8, color="#5e3c99")
        label_bars(ax, bars)
        ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
        ax.set_xlabel("seconds of audio in the file")
        ax.set_ylabel("samples")
        integer_axis(ax.yaxis)
        ax.margins(y=0.15)
    summary = stats.get("duration_seconds") or {}
    extra = ""
    if summary.get("total"):
        extra = (
            f" (mean {summary['mean']:.2f} s, min {summary['min']:.2f} s, "
            f"max {summary['max']:.2f} s, total {_hours_or_minutes(summary['total'])})"
        )
    ax.set_title(_title(stats, f"durations{extra}"))
    return save_png(figure, path)


@styled
def plot_sample_rates(stats: Mapping[str, Any], path: str | Path) -> Path:
    """How many samples had each original sample rate (before resampling), and which
    container/codec they came in, with the decoder that read them."""
    rates = {int(k): _count(v) for k, v in (stats.get("original_sample_rates") or {}).items()}
    figure = new_figure(11.0, 4.0)
    ax, formats_ax = figure.subplots(1, 2, width_ratios=(3, 2))
    if not rates:
        message(ax, "no samples: no sample rates to show")
    else:
        ordered = sorted(rates)
        x = np.arange(len(ordered))
        bars = ax.bar(x, [rates[r] for r in ordered], 0.7, color="#4dac26")
        label_bars(ax, bars)
        ax.set_xticks(x, [f"{r / 1000:g} kHz" for r in ordered])
        ax.set_xlabel("original sample rate")
        ax.set_ylabel("samples")
        integer_axis(ax.yaxis)
        ax.margins(y=0.15)
    target = (stats.get("settings") or {}).get("sample_rate")
    note = f", all resampled to {target / 1000:g} kHz" if target else ""
    ax.set_title(_title(stats, f"original sample rates{note}"))
    _plot_formats(formats_ax, stats.get("formats") or {}, stats.get("decoders") or {})
    return save_png(figure, path)


def _plot_formats(ax, formats: Mapping[str, Any], decoders: Mapping[str, Any]) -> None:
    if not formats:
        message(ax, "no samples: no formats to show")
        return
    names = list(formats)[::-1]  # most common on top
    bars = ax.barh(np.arange(len(names)), [_count(formats[n]) for n in names], color="#5e3c99")
    label_bars(ax, bars, horizontal=True)
    ax.set_yticks(np.arange(len(names)), [shorten(n, 28) for n in names])
    ax.set_xlabel("samples")
    integer_axis(ax.xaxis)
    ax.margins(x=0.2)
    read_by = ", ".join(f"{name} {_count(count)}" for name, count in decoders.items())
    ax.set_title(f"container/codec (decoded by {read_by})")


# ----------------------------------------------------------------------------- failures


def reason_kinds(reasons: Mapping[str, int]) -> dict[str, int]:
    """Failure reasons grouped by kind: numbers (frames, seconds, rates) replaced by N.

    Reasons such as ``too short: 1 samples, 6.25e-05 s`` differ per file; one bar per file
    would say less than one bar per kind. Sorted by count, then reason.
    """
    kinds: dict[str, int] = {}
    for reason, count in reasons.items():
        kind = NUMBER.sub("N", str(reason))
        kinds[kind] = kinds.get(kind, 0) + _count(count)
    return dict(sorted(kinds.items(), key=lambda item: (-item[1], item[0])))


@styled
def plot_failure_reasons(stats: Mapping[str, Any], path: str | Path, limit: int = 15) -> Path:
    """Failed files per kind of reason; a figure saying so when nothing failed."""
    kinds = reason_kinds(stats.get("failure_reasons") or {})
    shown = list(kinds.items())[:limit]
    figure = new_figure(9.0, max(3.0, 0.35 * len(shown) + 1.4))
    ax = figure.subplots()
    total = stats.get("total_files")
    if not shown:
        files = f"all {total} files" if total is not None else "every file"
        message(ax, f"No failures: {files} became samples.")
        ax.set_title(_title(stats, "failure reasons"))
        return save_png(figure, path)
    y = np.arange(len(shown))[::-1]
    bars = ax.barh(y, [count for _, count in shown], 0.6, color="#e66101")
    label_bars(ax, bars, horizontal=True)
    ax.set_yticks(y, [shorten(kind, 70) for kind, _ in shown], fontsize=8)
    ax.set_xlabel("files")
    integer_axis(ax.xaxis)
    ax.set_ylim(len(shown) - max(len(shown), 4) - 0.75, len(shown) - 0.25)  # bars at the top
    ax.margins(x=0.1)
    failed = sum(kinds.values())
    more = f"; {len(kinds) - limit} more kinds in failures.csv" if len(kinds) > limit else ""
    ax.set_title(_title(stats, f"failure reasons ({failed} of {total} files failed{more})"))
    return save_png(figure, path)


def write_failures_table(
    failures_csv: str | Path, path: str | Path, title: str = "", max_rows: int = 2000
) -> Path:
    """The failures table as a self-contained HTML page (the report shows HTML inline)."""
    with open(failures_csv, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, ["path", "split", "label", "reason"])
        shown, count = [], 0
        for row in reader:  # streamed: a large table keeps only the rows shown in memory
            count += 1
            if count <= max_rows:
                shown.append(row)
    note = f"{count} file{'s' if count != 1 else ''} failed." if count else "No failures."
    if count > max_rows:
        note += f" The first {max_rows} are shown; all are in {failures_csv}."
    return write_html_table(path, title or "failures", note, header, shown)
