"""The report's example features: a few real and fake samples of a model's outputs, read back
from its batch files and drawn as images (or waveforms). Chosen from the batch metadata's
labels alone, then each batch file holding one is read once, one at a time. Registered as a
data figure in :mod:`fraudprep.report.report_plots`; drawn, as the other figures, with
:mod:`fraudprep.report.kit` (the same data gives the same bytes on every run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.formats import format_of_entry
from fraudprep.extraction.store import as_float32
from fraudprep.inputs.manifest import LABEL_NAMES, SPLITS, TRAINING
from fraudprep.outputs.loader import read_batch
from fraudprep.report.kit import COLOURS, message, new_figure, save_png, styled
from fraudprep.report.stats_figures import shorten


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
                message(ax, f"no {LABEL_NAMES[label]} sample")
                continue
            example, sample = found[column]
            name = shorten(Path(example.source_file).name, 34)
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
