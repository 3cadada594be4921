"""The data figures of ``snakemake --report``, each declared once (:data:`DATA_FIGURES`, the
``@data_figure`` blocks below), and :func:`dataset_report`, which draws a model's. What they
draw is in :mod:`fraudprep.report.stats_figures` (counts, durations, sample rates and formats,
failures) and :mod:`fraudprep.report.example_figures` (example features); what the jobs cost is
:mod:`fraudprep.report.job_resources`; the style and writers, :mod:`fraudprep.report.kit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudprep.base.formats import format_of_document
from fraudprep.report.example_figures import plot_examples
from fraudprep.report.stats_figures import (
    plot_counts,
    plot_durations,
    plot_failure_reasons,
    plot_sample_rates,
    write_failures_table,
)

# ----------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class ReportData:
    """What a data figure draws from: one model's outputs (``plot_report``'s inputs)."""

    stats: Mapping[str, Any]
    metadata_path: Path
    failures_path: Path
    per_class: int = 3
    base_dir: Path = Path(".")

    @property
    def model(self) -> str:
        return self.stats.get("model", "")

    def metadata(self) -> Mapping[str, Any]:
        """The batch metadata, read when a figure asks for it."""
        return format_of_document(self.metadata_path).read_document(self.metadata_path)


@dataclass(frozen=True)
class DataFigure:
    """One data figure of the report, declared once: ``rules/report.smk`` makes it an output
    of ``plot_report`` (``<report>/<model>/<file>``, in ``category``, labelled ``label`` in the
    report's table), its caption is ``workflow/report/<name>.rst``, and :func:`dataset_report`
    draws it with ``draw(data, path)``."""

    name: str
    file: str
    category: str
    label: str
    draw: Callable[[ReportData, Path], Path]

    @property
    def caption(self) -> str:
        """The caption's file name, in ``workflow/report/``."""
        return f"{self.name}.rst"


# Every data figure, in drawing order (and the report's order within a category).
DATA_FIGURES: dict[str, DataFigure] = {}


def data_figure(
    name: str, file: str, category: str, label: str
) -> Callable[[Callable[[ReportData, Path], Path]], Callable[[ReportData, Path], Path]]:
    """Register the decorated ``draw(data, path)`` as the data figure ``name``: adding a figure
    to the report is this one block, plus its caption ``workflow/report/<name>.rst``."""

    def register(draw: Callable[[ReportData, Path], Path]) -> Callable[[ReportData, Path], Path]:
        if name in DATA_FIGURES:
            raise ValueError(f"report figure {name!r} is declared twice")
        DATA_FIGURES[name] = DataFigure(name, file, category, label, draw)
        return draw

    return register


def missing_captions(caption_dir: str | Path) -> list[str]:
    """The caption files of registered figures that ``caption_dir`` lacks."""
    return [
        figure.caption
        for figure in DATA_FIGURES.values()
        if not (Path(caption_dir) / figure.caption).is_file()
    ]


@data_figure("counts", "counts.png", "1. Samples", "samples per split, class and attack")
def _counts(data: ReportData, path: Path) -> Path:
    return plot_counts(data.stats, path)


@data_figure("durations", "durations.png", "1. Samples", "durations")
def _durations(data: ReportData, path: Path) -> Path:
    return plot_durations(data.stats, path)


@data_figure("sample_rates", "sample_rates.png", "1. Samples", "original sample rates")
def _sample_rates(data: ReportData, path: Path) -> Path:
    return plot_sample_rates(data.stats, path)


@data_figure("failure_reasons", "failure_reasons.png", "2. Failures", "failure reasons")
def _failure_reasons(data: ReportData, path: Path) -> Path:
    return plot_failure_reasons(data.stats, path)


@data_figure("failures_table", "failures.html", "2. Failures", "failures table")
def _failures_table(data: ReportData, path: Path) -> Path:
    title = f"{data.model}: files that are not samples"
    return write_failures_table(data.failures_path, path, title=title)


@data_figure("examples", "examples.png", "3. Features", "example features")
def _examples(data: ReportData, path: Path) -> Path:
    shape = tuple(data.stats.get("feature_shape", ()))
    title = f"{data.model}: {data.per_class} real and {data.per_class} fake samples {shape}"
    return plot_examples(data.metadata(), path, data.per_class, data.base_dir, title=title)


# ----------------------------------------------------------------------------- entry points


def dataset_report(
    stats_path: str | Path,
    metadata_path: str | Path,
    failures_path: str | Path,
    outputs: Mapping[str, str | Path],
    per_class: int = 3,
    base_dir: str | Path = ".",
) -> dict[str, Path]:
    """All figures about one model's outputs; ``outputs`` maps figure name to path, any subset
    of :data:`DATA_FIGURES` (counts, durations, sample_rates, failure_reasons, failures_table,
    examples, and any figure registered since)."""
    unknown = set(outputs) - set(DATA_FIGURES)
    if unknown:
        raise ValueError(f"unknown report outputs {sorted(unknown)}; known: {sorted(DATA_FIGURES)}")
    stats = format_of_document(stats_path).read_document(stats_path)
    data = ReportData(stats, Path(metadata_path), Path(failures_path), per_class, Path(base_dir))
    return {name: DATA_FIGURES[name].draw(data, Path(path)) for name, path in outputs.items()}
