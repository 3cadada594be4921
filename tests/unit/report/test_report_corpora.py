"""report/stats_figures.py with several corpora (config ``corpora``, issue 25): the counts figure
has a panel per corpus x split x class whose bars are ``dataset_stats['corpora']``'s counts,
as the aggregation computes them from a manifest with a corpus column; one dataset's figure
is unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

from helpers import bar_heights, figure_texts, tick_labels
from test_report_plots import synthetic_stats

from fraudprep.inputs.manifest import CORPUS_MANIFEST_COLUMNS
from fraudprep.outputs.dataset_stats import corpus_counts
from fraudprep.report import stats_figures as sf

# (corpus, split, label, attack, files, failed): la19 has its splits and attacks, itw is for
# testing only, mlaad has a failed real file in training.
FILES = [
    ("itw", "testing", 0, "", 3, 0), ("itw", "testing", 1, "", 2, 1),
    ("la19", "training", 0, "", 4, 0), ("la19", "training", 1, "A01", 3, 0),
    ("la19", "training", 1, "A02", 1, 0), ("la19", "validation", 0, "", 2, 0),
    ("la19", "validation", 1, "A02", 2, 0), ("la19", "testing", 1, "A11", 1, 0),
    ("mlaad", "training", 0, "", 5, 2), ("mlaad", "training", 1, "", 6, 0),
    ("mlaad", "validation", 1, "", 1, 0),
]  # fmt: skip


def corpora_stats(tmp_path: Path) -> dict:
    """``dataset_stats['corpora']`` of FILES, as aggregate_batches computes it."""
    manifest, failures = tmp_path / "manifest.csv", tmp_path / "failures.csv"
    with open(manifest, "w", newline="") as m, open(failures, "w", newline="") as f:
        rows, failed = csv.writer(m), csv.writer(f)
        rows.writerow(CORPUS_MANIFEST_COLUMNS)
        failed.writerow(["path", "split", "label", "reason"])
        for corpus, split, label, attack, files, bad in FILES:
            for i in range(files):
                path = f"{corpus}/{split}/{label}/{attack}{i}.wav"
                rows.writerow([path, split, label, 100, "", attack, corpus, f"h{path}", corpus])
                if i < bad:
                    failed.writerow([path, split, label, "empty file (0 bytes)"])
    corpora = corpus_counts(manifest, failures)
    assert set(corpora) == {"itw", "la19", "mlaad"}
    return corpora


def test_counts_per_corpus_are_the_bars_of_the_corpus_panel(tmp_path: Path, drawn_figures):
    corpora = corpora_stats(tmp_path)
    sf.plot_counts(synthetic_stats(corpora=corpora), tmp_path / "counts.png")
    [figure] = drawn_figures
    panel = figure.axes[-1]
    assert panel.get_title().startswith("per corpus")
    # One group a corpus and split with files, corpora in dataset_stats' order.
    groups = [("itw", "testing"), ("la19", "training"), ("la19", "validation"),
              ("la19", "testing"), ("mlaad", "training"), ("mlaad", "validation")]  # fmt: skip
    assert tick_labels(panel.xaxis) == [f"{c}\n{s}" for c, s in groups]
    ok = {cls: [corpora[c]["samples"][s][cls] for c, s in groups] for cls in sf.CLASSES}
    failed = {cls: [corpora[c]["failures"][s][cls] for c, s in groups] for cls in sf.CLASSES}
    assert failed == {"real": [0, 0, 0, 0, 2, 0], "fake": [1, 0, 0, 0, 0, 0]}  # as planted
    # Per class: its samples per group, then its failed files stacked on top of them.
    assert bar_heights(panel) == [*ok["real"], *failed["real"], *ok["fake"], *failed["fake"]]
    assert ok == {"real": [3, 4, 2, 0, 3, 0], "fake": [1, 4, 2, 1, 6, 1]}
    failed_bars = [bar for bar in panel.patches if bar.get_hatch() == "//"]
    assert [bar.get_y() for bar in failed_bars] == [*ok["real"], *ok["fake"]]
    # Every file of every corpus is a bar's worth, once.
    total = sum(bar_heights(panel))
    assert total == sum(c["total_files"] for c in corpora.values()) == 30
    assert "3 + 2" in figure_texts(figure) and "1 + 1" in figure_texts(figure)


def test_attacks_are_counted_per_corpus(tmp_path: Path, drawn_figures):
    corpora = corpora_stats(tmp_path)
    rows = sf.known_attacks(synthetic_stats(corpora=corpora))
    assert ("la19 / training", "A01", {"real": 0, "fake": 3}) in rows
    assert ("la19 / testing", "A11", {"real": 0, "fake": 1}) in rows
    assert {where.split(" / ")[0] for where, _, _ in rows} == {"la19"}  # the others name none
    sf.plot_counts(synthetic_stats(corpora=corpora), tmp_path / "counts.png")
    [figure] = drawn_figures
    attacks = figure.axes[1]
    assert bar_heights(attacks, horizontal=True) == [
        *(row[2]["real"] for row in rows),
        *(row[2]["fake"] for row in rows),
    ]
    assert tick_labels(attacks.yaxis)[0] == "la19 / training / bona fide / unknown"


def test_one_dataset_has_no_corpus_panel(tmp_path: Path, drawn_figures):
    """Without corpora the figure is drawn as before: the same bytes with ``corpora`` absent
    or empty, and only the split and attack panels."""
    plain = sf.plot_counts(synthetic_stats(), tmp_path / "plain.png")
    empty = sf.plot_counts(synthetic_stats(corpora={}), tmp_path / "empty.png")
    assert plain.read_bytes() == empty.read_bytes()
    assert sf.counts_per_corpus(synthetic_stats()) == []
    assert [len(figure.axes) for figure in drawn_figures] == [2, 2]
    assert not any(ax.get_title().startswith("per corpus") for ax in drawn_figures[0].axes)
