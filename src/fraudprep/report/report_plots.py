"""The figures of ``snakemake --report``: what went in, what came out, what it cost.

Every function takes plain data (the ``dataset_stats`` dictionary, the batch metadata, file
paths) and writes one PNG, so all of it is testable without Snakemake. Figures are drawn with
matplotlib's object-oriented API on the Agg canvas (no pyplot, no display, no global state),
at fixed sizes and resolution, without the matplotlib version or any date in the PNG metadata:
the same data gives the same bytes on every run.
"""

from __future__ import annotations

import csv
import functools
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fraudprep.base.atomic import atomic_write
from fraudprep.base.formats import format_of_document, format_of_entry
from fraudprep.extraction.store import as_float32
from fraudprep.inputs.chunks import read_chunks
from fraudprep.inputs.manifest import LABEL_NAMES, LABELS, SPLITS, TRAINING
from fraudprep.outputs.loader import read_batch

T = TypeVar("T")

CLASSES = tuple(LABELS)  # ("real", "fake")
COLOURS = {"real": "#2b83ba", "fake": "#d7191c", "failed": "#bdbdbd"}
DPI = 100
UNKNOWN_ATTACK = "-"
# Numbers in failure reasons (not digits inside words such as "mp3").
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)?(?:e[-+]?\d+)?")
PEAK_MEMORY = re.compile(r"Peak memory usage: ([0-9.]+) MB")

# Fixed fonts and sizes; DejaVu Sans ships with matplotlib, so text renders the same anywhere.
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": DPI,
}


def styled(function: Callable[..., T]) -> Callable[..., T]:
    """Run a plotting function under :data:`STYLE` (rcParams are read as artists are made)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


# ----------------------------------------------------------------------------- reading inputs


def _count(value: Any) -> int:
    return int(value or 0)


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure of fixed size on its own Agg canvas: no pyplot, no display, no global state."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG atomically, with no software version or date in it."""
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _message(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _label_bars(ax, bars, values: Sequence[Any] | None = None, horizontal: bool = False) -> None:
    """Numbers at the ends of bars; none on empty bars."""
    if values is None:
        values = [round(bar.get_width() if horizontal else bar.get_height()) for bar in bars]
    labels = [str(value) if value else "" for value in values]
    ax.bar_label(bars, labels=labels, padding=2, fontsize=7)


def _integer_axis(axis) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))


def _title(stats: Mapping[str, Any], what: str) -> str:
    model = stats.get("model")
    return f"{model}: {what}" if model else what


# ----------------------------------------------------------------------------- counts


def known_attacks(stats: Mapping[str, Any]) -> list[tuple[str, str, dict[str, int]]]:
    """(split, attack, {real, fake}) for every attack or system id other than unknown ("-")."""
    attacks = stats.get("attacks") or {}
    if not any(name != UNKNOWN_ATTACK for per_split in attacks.values() for name in per_split):
        return []
    rows = []
    for split in SPLITS:
        for name, counts in sorted(attacks.get(split, {}).items()):
            label = "bona fide / unknown" if name == UNKNOWN_ATTACK else name
            rows.append((split, label, {c: _count(counts.get(c)) for c in CLASSES}))
    return rows


@styled
def plot_counts(stats: Mapping[str, Any], path: str | Path) -> Path:
    """Samples per split x class (failed files stacked on top), and per attack when known."""
    attacks = known_attacks(stats)
    attack_height = 0.22 * len(attacks) + 1.2
    height = max(4.0, attack_height) if attacks else 4.0
    figure = new_figure(11.0 if attacks else 7.0, height)
    axes = figure.subplots(1, 2 if attacks else 1, squeeze=False)[0]
    ax = axes[0]
    x = np.arange(len(SPLITS))
    width = 0.38
    samples, failures = stats.get("samples", {}), stats.get("failures", {})
    for offset, cls in zip((-width / 2, width / 2), CLASSES, strict=True):
        ok = [_count(samples.get(split, {}).get(cls)) for split in SPLITS]
        failed = [_count(failures.get(split, {}).get(cls)) for split in SPLITS]
        bars = ax.bar(x + offset, ok, width, color=COLOURS[cls], label=f"{cls} samples")
        if any(failed):
            bars = ax.bar(
                x + offset,
                failed,
                width,
                bottom=ok,
                color=COLOURS["failed"],
                hatch="//",
                edgecolor="white",
                label="failed files" if cls == "real" else None,
            )
        _label_bars(ax, bars, [f"{n} + {f}" if f else n for n, f in zip(ok, failed, strict=True)])
    ax.set_xticks(x, SPLITS)
    ax.set_ylabel("files")
    _integer_axis(ax.yaxis)
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
    return save_png(figure, path)


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
        _label_bars(ax, bars, horizontal=True)
    ax.set_yticks(y, [f"{split} / {name}" for split, name, _ in attacks], fontsize=7)
    ax.set_xlabel("samples")
    _integer_axis(ax.xaxis)
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
        _message(ax, "no samples: no durations to show")
    else:
        labels, counts = list(histogram), [_count(v) for v in histogram.values()]
        bars = ax.bar(np.arange(len(labels)), counts, 0.8, color="#5e3c99")
        _label_bars(ax, bars)
        ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right")
        ax.set_xlabel("seconds of audio in the file")
        ax.set_ylabel("samples")
        _integer_axis(ax.yaxis)
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
        _message(ax, "no samples: no sample rates to show")
    else:
        ordered = sorted(rates)
        x = np.arange(len(ordered))
        bars = ax.bar(x, [rates[r] for r in ordered], 0.7, color="#4dac26")
        _label_bars(ax, bars)
        ax.set_xticks(x, [f"{r / 1000:g} kHz" for r in ordered])
        ax.set_xlabel("original sample rate")
        ax.set_ylabel("samples")
        _integer_axis(ax.yaxis)
        ax.margins(y=0.15)
    target = (stats.get("settings") or {}).get("sample_rate")
    note = f", all resampled to {target / 1000:g} kHz" if target else ""
    ax.set_title(_title(stats, f"original sample rates{note}"))
    _plot_formats(formats_ax, stats.get("formats") or {}, stats.get("decoders") or {})
    return save_png(figure, path)


def _plot_formats(ax, formats: Mapping[str, Any], decoders: Mapping[str, Any]) -> None:
    if not formats:
        _message(ax, "no samples: no formats to show")
        return
    names = list(formats)[::-1]  # most common on top
    bars = ax.barh(np.arange(len(names)), [_count(formats[n]) for n in names], color="#5e3c99")
    _label_bars(ax, bars, horizontal=True)
    ax.set_yticks(np.arange(len(names)), [_shorten(n, 28) for n in names])
    ax.set_xlabel("samples")
    _integer_axis(ax.xaxis)
    ax.margins(x=0.2)
    read_by = ", ".join(f"{name} {_count(count)}" for name, count in decoders.items())
    ax.set_title(f"container/codec (decoded by {read_by})")


# ----------------------------------------------------------------------------- failures


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        _message(ax, f"No failures: {files} became samples.")
        ax.set_title(_title(stats, "failure reasons"))
        return save_png(figure, path)
    y = np.arange(len(shown))[::-1]
    bars = ax.barh(y, [count for _, count in shown], 0.6, color="#e66101")
    _label_bars(ax, bars, horizontal=True)
    ax.set_yticks(y, [_shorten(kind, 70) for kind, _ in shown], fontsize=8)
    ax.set_xlabel("files")
    _integer_axis(ax.xaxis)
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


def write_html_table(
    path: str | Path,
    title: str,
    note: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    marked: Callable[[Sequence[str]], bool] = lambda row: False,
) -> Path:
    """A self-contained HTML page with one table (the report shows HTML inline); rows for
    which ``marked`` is true are highlighted. Every text is escaped."""
    cell = "<td>{}</td>".format
    lines = [
        ('<tr class="marked">' if marked(row) else "<tr>")
        + "".join(cell(html.escape(str(v))) for v in row)
        + "</tr>"
        for row in rows
    ]
    body = "\n".join(lines)
    # The highlight's style only where a row uses it: pages without marks stay as they were.
    marks = any(line.startswith('<tr class="marked">') for line in lines)
    mark_style = "tr.marked td { background: #fde0dd; }\n" if marks else ""
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; font-size: 13px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
{mark_style}</style></head><body>
<h3>{html.escape(title)}</h3>
<p>{html.escape(note)}</p>
<table>
<tr>{"".join(f"<th>{html.escape(h)}</th>" for h in header)}</tr>
{body}
</table>
</body></html>
"""
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return Path(path)


# ----------------------------------------------------------------------------- examples


@dataclass(frozen=True)
class Example:
    """One sample to show: which batch file holds it, and where."""

    split: str
    label: int
    source_file: str
    record: Mapping[str, Any]
    index: int


def pick_examples(
    metadata: Mapping[str, Sequence[Mapping[str, Any]]],
    per_class: int = 3,
    splits: Iterable[str] = SPLITS,
) -> list[Example]:
    """The first ``per_class`` samples of each class, training split first, in batch order.

    Uses only the labels in the metadata: no batch file is opened to choose.
    """
    chosen: dict[int, list[Example]] = {label: [] for label in LABEL_NAMES}
    for split in splits:
        for record in metadata.get(split, []):
            sources = record.get("source_files") or []
            for index, label in enumerate(record.get("labels", [])):
                label = int(label)
                if label in chosen and len(chosen[label]) < per_class:
                    source = sources[index] if index < len(sources) else f"sample {index}"
                    chosen[label].append(Example(split, label, str(source), record, index))
            if all(len(found) >= per_class for found in chosen.values()):
                return [example for label in LABEL_NAMES for example in chosen[label]]
    return [example for label in LABEL_NAMES for example in chosen[label]]


def _batch_data(record: Mapping[str, Any], base_dir: Path) -> np.ndarray:
    """A batch's feature array; its paths in the metadata are relative to ``base_dir``."""
    relative = Path(record[format_of_entry(record).path_keys[0]])
    return read_batch(record, base_dir / relative.parent)[0]


def load_examples(examples: Sequence[Example], base_dir: str | Path = ".") -> list[np.ndarray]:
    """The examples' feature arrays as float32; each batch file is read once, one at a time."""
    base_dir = Path(base_dir)
    arrays: list[np.ndarray | None] = [None] * len(examples)
    by_batch: dict[int, list[int]] = {}
    for position, example in enumerate(examples):
        by_batch.setdefault(id(example.record), []).append(position)
    for positions in by_batch.values():
        data = _batch_data(examples[positions[0]].record, base_dir)
        for position in positions:
            # Raw waveforms may be stored as int16: the figure shows them as the model sees them.
            sample = as_float32(np.array(data[examples[position].index]))
            arrays[position] = sample.astype(np.float32)
        del data
    return [array for array in arrays if array is not None]


def as_image(sample: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) features as one (H, W) image; channels are equal, take the first."""
    return sample[..., 0] if sample.ndim == 3 else sample


def colour_range(images: Sequence[np.ndarray]) -> tuple[float, float]:
    """One colour scale for all examples: [0, 1] for images in [0, 1] (log-mel), else the
    5th to 95th percentile of all values (a few LFCCs, such as c0, dwarf the rest)."""
    if not images:
        return 0.0, 1.0
    values = np.concatenate([image.ravel() for image in images])
    if values.min() >= 0.0 and values.max() <= 1.0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(values, [5, 95]))
    return (low, high) if high > low else (low - 0.5, low + 0.5)


@styled
def plot_examples(
    metadata: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | Path,
    per_class: int = 3,
    base_dir: str | Path = ".",
    title: str = "example features",
) -> Path:
    """``per_class`` real and fake samples as images (row 0 = lowest band at the bottom)."""
    examples = pick_examples(metadata, per_class)
    arrays = load_examples(examples, base_dir)
    # A fixed layout: the constrained one draws the images twice to measure them, which
    # would be most of this figure's cost.
    width = 3.2 * per_class + 1.0
    figure = new_figure(width, 6.2, layout=None)
    right = 1 - 1.1 / width  # room for the colour bar
    figure.subplots_adjust(left=0.7 / width, right=right, bottom=0.09, top=0.86, wspace=0.3,
                           hspace=0.45)  # fmt: skip
    axes = figure.subplots(2, per_class, squeeze=False)
    vmin, vmax = colour_range([as_image(a) for a in arrays if a.ndim >= 2])
    mappable = None
    for row, label in enumerate(LABEL_NAMES):
        found = [(e, a) for e, a in zip(examples, arrays, strict=True) if e.label == label]
        for column in range(per_class):
            ax = axes[row][column]
            if column >= len(found):
                _message(ax, f"no {LABEL_NAMES[label]} sample")
                continue
            example, sample = found[column]
            name = _shorten(Path(example.source_file).name, 34)
            where = "" if example.split == TRAINING else f" ({example.split})"
            ax.set_title(f"{LABEL_NAMES[label]}: {name}{where}", fontsize=8)
            if sample.ndim == 1:
                ax.plot(
                    np.arange(len(sample)),
                    sample,
                    linewidth=0.4,
                    color=COLOURS["fake" if label else "real"],
                )
                ax.set_xlabel("sample")
                continue
            mappable = ax.imshow(
                as_image(sample),
                origin="lower",
                aspect="auto",
                interpolation="nearest",
                cmap="magma",
                vmin=vmin,
                vmax=vmax,
            )
            ax.set_xlabel("frame (time)")
            ax.set_ylabel("row (0 = lowest band)" if column == 0 else "")
    if mappable is not None:
        bar = figure.add_axes((right + 0.25 / width, 0.2, 0.15 / width, 0.56))
        figure.colorbar(mappable, cax=bar, label="feature value")
    figure.suptitle(title)
    return save_png(figure, path)


# ----------------------------------------------------------------------------- job resources


@dataclass(frozen=True)
class JobResources:
    """One extraction job: its wall time and memory as measured two ways."""

    chunk: str
    seconds: float
    max_rss_mb: float
    peak_mb: float


def _float(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "NA", "-") else math.nan
    except ValueError:
        return math.nan


def read_benchmark(path: str | Path) -> dict[str, float]:
    """A Snakemake benchmark TSV (s, h:m:s, max_rss, ...): the first (or only) repeat.

    NaN for a file that is missing or empty (a job run before benchmarks were kept).
    """
    rows = []
    if Path(path).exists():
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        return {"s": math.nan, "max_rss": math.nan}
    return {key: _float(rows[0].get(key)) for key in ("s", "max_rss")}


def read_peak_memory(path: str | Path) -> float:
    """The last ``Peak memory usage: X MB`` of a job log (a retried job appends), else NaN."""
    if not Path(path).exists():
        return math.nan
    peaks = PEAK_MEMORY.findall(Path(path).read_text(encoding="utf-8", errors="replace"))
    return float(peaks[-1]) if peaks else math.nan


def read_job_resources(
    benchmarks: Sequence[str | Path], logs: Sequence[str | Path] = ()
) -> list[JobResources]:
    """One row per benchmark file, named by its stem (the chunk), logs matched by stem."""
    peak_by_chunk = {Path(log).stem: read_peak_memory(log) for log in logs}
    rows = []
    for bench in benchmarks:
        values = read_benchmark(bench)
        chunk = Path(bench).stem
        rows.append(
            JobResources(chunk, values["s"], values["max_rss"], peak_by_chunk.get(chunk, math.nan))
        )
    return rows


@styled
def plot_job_resources(
    jobs: Sequence[JobResources], path: str | Path, title: str = "extraction jobs"
) -> Path:
    """Runtime and peak memory per extraction job, in chunk order."""
    figure = new_figure(10.0, 6.5)
    top, bottom = figure.subplots(2, 1, sharex=True)
    if not jobs:
        _message(top, "no extraction jobs recorded")
        bottom.set_visible(False)
        figure.suptitle(title)
        return save_png(figure, path)
    x = np.arange(len(jobs))
    seconds = np.array([job.seconds for job in jobs])
    top.bar(x, np.nan_to_num(seconds), 0.7, color="#5e3c99")
    total = float(np.nansum(seconds))
    top.set_ylabel("wall time (s)")
    top.set_title(f"runtime per job (benchmark 's'; {len(jobs)} jobs, {total:.1f} s in all)")
    peak = np.array([job.peak_mb for job in jobs])
    rss = np.array([job.max_rss_mb for job in jobs])
    if np.isfinite(peak).any():
        bottom.bar(
            x, np.nan_to_num(peak), 0.7, color="#e66101", label="peak RSS from the job log (exact)"
        )
    if np.isfinite(rss).any():
        bottom.plot(
            x,
            rss,
            "o",
            color="black",
            markersize=3,
            label="benchmark max_rss (sampled; ~0 for short jobs)",
        )
    bottom.set_ylabel("memory (MB)")
    most = np.nanmax(np.concatenate([peak, rss])) if np.isfinite([*peak, *rss]).any() else 0
    bottom.set_title(f"peak memory per job (highest {most:.0f} MB)")
    if most > 0:
        bottom.set_ylim(0, most * 1.35)  # room for the legend above the bars
    bottom.legend(loc="upper right", ncols=2, fontsize=8, frameon=False)
    step = max(1, math.ceil(len(jobs) / 40))
    bottom.set_xticks(
        x[::step], [job.chunk for job in jobs][::step], rotation=60, ha="right", fontsize=7
    )
    bottom.set_xlabel("chunk")
    figure.suptitle(title)
    return save_png(figure, path)


# ----------------------------------------------------------------------------- entry points


def dataset_report(
    stats_path: str | Path,
    metadata_path: str | Path,
    failures_path: str | Path,
    outputs: Mapping[str, str | Path],
    per_class: int = 3,
    base_dir: str | Path = ".",
) -> dict[str, Path]:
    """All figures about one model's outputs; ``outputs`` maps figure name to path.

    Names: ``counts``, ``durations``, ``sample_rates``, ``failure_reasons``,
    ``failures_table``, ``examples``; any subset.
    """
    stats = format_of_document(stats_path).read_document(stats_path)
    model = stats.get("model", "")
    written: dict[str, Path] = {}
    makers = {
        "counts": lambda p: plot_counts(stats, p),
        "durations": lambda p: plot_durations(stats, p),
        "sample_rates": lambda p: plot_sample_rates(stats, p),
        "failure_reasons": lambda p: plot_failure_reasons(stats, p),
        "failures_table": lambda p: write_failures_table(
            failures_path, p, title=f"{model}: files that are not samples"
        ),
        "examples": lambda p: plot_examples(
            format_of_document(metadata_path).read_document(metadata_path),
            p,
            per_class,
            base_dir,
            title=f"{model}: {per_class} real and {per_class} fake samples "
            f"{tuple(stats.get('feature_shape', ()))}",
        ),
    }
    unknown = set(outputs) - set(makers)
    if unknown:
        raise ValueError(f"unknown report outputs {sorted(unknown)}; known: {sorted(makers)}")
    for name, path in outputs.items():
        written[name] = makers[name](path)
    return written


def resources_report(
    chunks_path: str | Path,
    benchmark_pattern: str,
    log_pattern: str,
    path: str | Path,
) -> Path:
    """The runtime and memory figure of the run's extraction jobs, from the Snakemake
    benchmark file and log of each chunk's job (paths with ``{chunk}`` to fill in)."""
    chunk_ids = [chunk.id for chunk in read_chunks(chunks_path)]
    jobs = read_job_resources(
        [benchmark_pattern.format(chunk=c) for c in chunk_ids],
        [log_pattern.format(chunk=c) for c in chunk_ids],
    )
    return plot_job_resources(jobs, path, "extraction jobs (every model)")
