"""The report of a workflow run: its figures show the run's outputs, and `snakemake --report`
holds them (the figures' functions alone: unit/report/)."""

from __future__ import annotations

import csv
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_real_png, bar_heights, snakemake_command, tick_labels, write_audio

import fraudprep
from fraudprep.report import example_figures as ef
from fraudprep.report import report_plots as rp
from fraudprep.report import stats_figures as sf

OUT = "data/preprocessed"
MODELS = ("unetr", "resnet")
FIGURES = ("counts.png", "durations.png", "sample_rates.png", "failure_reasons.png",
           "examples.png")  # fmt: skip


def command(workdir: Path, *args: str) -> list[str]:
    return snakemake_command(
        workdir, "--config", "input_dir=corpus", "chunk_size=6",
        f"models=[{','.join(MODELS)}]", *args,
    )  # fmt: skip


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(workdir, *args), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory) -> Path:
    """20 files (and one that is not audio) through the workflow, then into report.html."""
    workdir = tmp_path_factory.mktemp("report")
    for split, n in {"training": 4, "validation": 3, "testing": 3}.items():
        for label in ("real", "fake"):
            for i in range(n):
                write_audio(workdir / "corpus" / split / label / f"{label} {i}.wav",
                            seconds=0.5 + 0.4 * i, rate=(16000, 22050, 44100)[i % 3],
                            seed=i + 10 * (label == "fake"))  # fmt: skip
    (workdir / "corpus/training/real/garbage.wav").write_bytes(b"\x00" * 100)
    run = snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    report = snakemake(workdir, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    return workdir


@pytest.mark.parametrize("model", MODELS)
def test_every_figure_shows_what_the_outputs_hold(
    reported_run: Path, model: str, tmp_path: Path, drawn_figures
):
    """A figure that is not blank can still be the wrong figure. Each of the run's figures is
    the one drawn here from the model's outputs (the same bytes), and what that one shows is
    read back: the samples the loader gives and the failed file of failures.csv per split and
    class, the corpus's sample rates, the first samples of each class."""
    out = reported_run / OUT
    for name in FIGURES:
        assert_real_png(out / "report" / model / name)
    assert_real_png(out / "benchmarks/report/extract_features.png")
    [stats_path] = (out / model).glob("dataset_stats.*")
    [metadata_path] = (out / model).glob("batch_metadata.*")
    rp.dataset_report(stats_path, metadata_path, out / model / "failures.csv",
                      {name.removesuffix(".png"): tmp_path / name for name in FIGURES},
                      base_dir=reported_run)  # fmt: skip
    for name in FIGURES:
        assert (tmp_path / name).read_bytes() == (out / "report" / model / name).read_bytes(), name
    counts, durations, rates, reasons, examples = drawn_figures

    loaded = {split: fraudprep.load(out, model, split) for split in sf.SPLITS}
    samples = [[int((loaded[s][1] == label).sum()) for s in sf.SPLITS] for label in (0, 1)]
    with open(out / model / "failures.csv", newline="") as handle:
        failed_rows = Counter((row["split"], int(row["label"])) for row in csv.DictReader(handle))
    failed = [[failed_rows[(s, label)] for s in sf.SPLITS] for label in (0, 1)]
    assert samples == [[4, 3, 3], [4, 3, 3]] and failed == [[1, 0, 0], [0, 0, 0]]  # the corpus
    plotted = [*samples[0], *failed[0], *samples[1]]  # real, its failed file on top, fake
    assert bar_heights(counts.axes[0]) == plotted
    assert bar_heights(rates.axes[0]) == [8, 6, 6]  # 16, 22.05 and 44.1 kHz files
    assert tick_labels(rates.axes[0].xaxis) == ["16 kHz", "22.05 kHz", "44.1 kHz"]
    assert sum(bar_heights(durations.axes[0])) == 20
    assert bar_heights(reasons.axes[0], horizontal=True) == [1]  # garbage.wav

    x, y = loaded["training"]
    first = [*x[y == 0][:3], *x[y == 1][:3]]  # the top row shows real files, the bottom fake
    for panel, sample in zip(examples.axes[:6], first, strict=True):
        shown = np.asarray(panel.images[0].get_array())
        np.testing.assert_array_equal(shown, ef.as_image(np.asarray(sample, np.float32)))


@pytest.mark.parametrize("model", MODELS)
def test_every_shortcut_figure_is_drawn_and_the_table_lists_every_property(
    reported_run: Path, model: str, tmp_path: Path
):
    """Each figure and the table are the ones drawn here from the model's statistics and
    properties.csv (the same bytes): of this model's outputs, not merely drawn."""
    from fraudprep.base.formats import format_of_document
    from fraudprep.extraction.properties import PROPERTIES
    from fraudprep.report.report_shortcuts import shortcut_figures

    for name in PROPERTIES:
        assert_real_png(reported_run / OUT / "report" / model / "shortcuts" / f"{name}.png")
    table = (reported_run / OUT / "report" / model / "shortcuts.html").read_text()
    for name in (*PROPERTIES, "all properties together"):
        assert f"<td>{name}</td>" in table
    [stats_path] = (reported_run / OUT / model).glob("dataset_stats.*")
    redrawn = shortcut_figures(
        format_of_document(stats_path).read_document(stats_path),
        reported_run / OUT / model / "properties.csv",
        {
            "table": tmp_path / "shortcuts.html",
            **{name: tmp_path / f"{name}.png" for name in PROPERTIES},
        },
    )
    assert redrawn["table"].read_text() == table
    for name in PROPERTIES:
        drawn = reported_run / OUT / "report" / model / "shortcuts" / f"{name}.png"
        assert redrawn[name].read_bytes() == drawn.read_bytes(), name


@pytest.mark.parametrize("model", MODELS)
def test_failures_table_lists_the_failed_file(reported_run: Path, model: str):
    table = (reported_run / OUT / "report" / model / "failures.html").read_text()
    assert "garbage.wav" in table and "1 file failed." in table
    assert "not audio" in table


def test_report_html_holds_every_figure_and_table(reported_run: Path):
    report = reported_run / "report.html"
    assert report.stat().st_size > 200_000  # images are embedded
    html = report.read_text(encoding="utf-8")
    for model in MODELS:
        for name in (*FIGURES, "failures.html"):
            assert f"data/preprocessed/report/{model}/{name}" in html
        assert f"data/preprocessed/{model}/failures.csv" in html
    assert "benchmarks/report/extract_features.png" in html
    for category in ("1. Samples", "2. Failures", "3. Features", "4. Jobs", "5. Shortcuts"):
        assert category in html
    assert "plot_job_resources" in html and "Peak memory usage" in html  # captions rendered


def test_rules_write_logs_and_benchmarks_and_nothing_reruns(reported_run: Path):
    for model in MODELS:
        assert (reported_run / OUT / "logs" / "plot_report" / f"{model}.log").exists()
        assert (reported_run / OUT / "benchmarks" / "plot_report" / f"{model}.tsv").exists()
    assert (reported_run / OUT / "logs" / "plot_job_resources.log").exists()
    assert (reported_run / OUT / "benchmarks" / "plot_job_resources.tsv").exists()
    again = snakemake(reported_run, "--cores", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr


# Snakemake run with one more data figure registered (fraudprep.report.report_plots'
# DATA_FIGURES), as a contributor's block would; "--captioned" stands for its caption file.
WITH_A_PIE = """
import sys
from fraudprep.report import report_plots as rp

rp.data_figure("pie", "pie.png", "1. Samples", "a pie")(lambda data, path: path)
if "--captioned" in sys.argv:
    sys.argv.remove("--captioned")
    rp.missing_captions = lambda caption_dir: []
from snakemake.cli import main

sys.argv = ["snakemake", *sys.argv[1:]]
main()
"""


def test_a_registered_figure_becomes_an_output_and_needs_a_caption(reported_run: Path):
    """The registry is the one place a data figure is declared: rules/report.smk makes a new
    entry an output of plot_report for every model (dry run), and stops without its caption."""
    python, dash_m, snakemake_module, *args = command(reported_run, "--dry-run")
    assert (dash_m, snakemake_module) == ("-m", "snakemake")
    with_pie = [python, "-c", WITH_A_PIE, *args]
    uncaptioned = subprocess.run(with_pie, capture_output=True, text=True, timeout=300)
    assert uncaptioned.returncode != 0
    assert "no caption in workflow/report/ for the report figures ['pie.rst']" in (
        uncaptioned.stderr
    )
    captioned = subprocess.run(
        [*with_pie, "--captioned"], capture_output=True, text=True, timeout=300
    )
    assert captioned.returncode == 0, captioned.stderr[-3000:]
    printed = captioned.stdout + captioned.stderr
    for model in MODELS:
        assert f"Missing output files: {OUT}/report/{model}/pie.png" in printed
    assert printed.count("rule plot_report:") == len(MODELS)
