"""report/report_plots.py's registry of data figures (issue 24): a figure is declared once
(name, file, category, label, drawing function) and ``dataset_report``, ``rules/report.smk``'s
outputs and the caption check all follow it (the workflow's side:
tests/workflow/test_report.py)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from helpers import REPO

from fraudprep.report import report_plots as rp

CAPTIONS = REPO / "workflow" / "report"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The registry, restored after the test: figures registered here do not leak."""
    registry = dict(rp.DATA_FIGURES)
    monkeypatch.setattr(rp, "DATA_FIGURES", registry)
    return registry


def test_the_shipped_figures_and_their_captions():
    assert {name: figure.file for name, figure in rp.DATA_FIGURES.items()} == {
        "counts": "counts.png",
        "durations": "durations.png",
        "sample_rates": "sample_rates.png",
        "failure_reasons": "failure_reasons.png",
        "failures_table": "failures.html",
        "examples": "examples.png",
    }
    assert rp.missing_captions(CAPTIONS) == []
    assert all(figure.category[0] in "123" for figure in rp.DATA_FIGURES.values())


def test_a_registered_figure_is_drawn_by_dataset_report(tmp_path: Path, registry: dict):
    stats_path = tmp_path / "dataset_stats.pkl"
    stats_path.write_bytes(pickle.dumps({"model": "toy", "total_files": 7}))
    seen = []

    @rp.data_figure("pie", "pie.png", "1. Samples", "a pie")
    def draw_pie(data: rp.ReportData, path: Path) -> Path:
        seen.append(data)
        path.write_text(f"{data.model} {data.stats['total_files']} {data.per_class}")
        return path

    figure = registry["pie"]
    assert (figure.file, figure.category, figure.label, figure.caption) == (
        "pie.png", "1. Samples", "a pie", "pie.rst",
    )  # fmt: skip
    assert list(registry)[-1] == "pie" and figure.draw is draw_pie
    written = rp.dataset_report(
        stats_path, tmp_path / "m.pkl", tmp_path / "f.csv", {"pie": tmp_path / "p.png"}, 5
    )
    assert written == {"pie": tmp_path / "p.png"}
    assert (tmp_path / "p.png").read_text() == "toy 7 5"
    assert seen[0].metadata_path == tmp_path / "m.pkl"  # read only by figures that need it


def test_a_figure_without_its_caption_file_is_named(tmp_path: Path, registry: dict):
    rp.data_figure("pie", "pie.png", "1. Samples", "a pie")(lambda data, path: path)
    assert rp.missing_captions(CAPTIONS) == ["pie.rst"]
    captions = tmp_path / "report"
    shutil.copytree(CAPTIONS, captions)
    (captions / "pie.rst").write_text("A pie of model **{{ snakemake.wildcards.model }}**.\n")
    assert rp.missing_captions(captions) == []


def test_a_name_is_declared_once(registry: dict):
    with pytest.raises(ValueError, match="'counts' is declared twice"):
        rp.data_figure("counts", "counts2.png", "1. Samples", "again")(lambda data, path: path)
