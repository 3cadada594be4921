"""report/stats_figures.py and report/example_figures.py (and report_plots.dataset_report): each
figure shows the statistics it is given (its bars' data read back from the figure),
deterministically; the failures table; the examples."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_real_png, bar_heights, figure_texts, tick_labels
from matplotlib.image import imread

from fraudprep.base.atomic import OutputWriteError
from fraudprep.report import example_figures as ef
from fraudprep.report import report_plots as rp
from fraudprep.report import stats_figures as sf


def synthetic_stats(**changes) -> dict:
    stats = {
        "model": "toy",
        "settings": {"sample_rate": 16000},
        "feature_shape": (8, 16),
        "total_files": 23,
        "total_samples": 20,
        "total_failures": 3,
        "samples": {"training": {"real": 6, "fake": 6}, "validation": {"real": 2, "fake": 2},
                    "testing": {"real": 2, "fake": 2}},
        "failures": {"training": {"real": 2, "fake": 0}, "validation": {"real": 0, "fake": 1},
                     "testing": {"real": 0, "fake": 0}},
        "failure_reasons": {"empty file (0 bytes)": 1,
                            "too short: 1 samples, 6.25e-05 s (minimum is 0.1 s)": 1,
                            "too short: 3 samples, 0.0001875 s (minimum is 0.1 s)": 1},
        "duration_seconds": {"mean": 2.0, "std": 1.0, "min": 0.5, "max": 4.0, "total": 40.0},
        "duration_histogram": {"0-0.5": 0, "0.5-1": 5, "1-2": 7, "2-3": 4, "3-4": 4, ">4": 0},
        "original_sample_rates": {16000: 10, 44100: 6, 8000: 4},
        "attacks": {"training": {"-": {"real": 6, "fake": 0}, "A01": {"real": 0, "fake": 6}},
                    "validation": {"-": {"real": 2, "fake": 0}, "A02": {"real": 0, "fake": 2}},
                    "testing": {"-": {"real": 2, "fake": 0}, "A03": {"real": 0, "fake": 2}}},
    }  # fmt: skip
    stats.update(changes)
    return stats


@pytest.mark.parametrize(
    "plot", [sf.plot_counts, sf.plot_durations, sf.plot_sample_rates, sf.plot_failure_reasons]
)
def test_stats_figures_are_deterministic_pngs(tmp_path: Path, plot):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plot(synthetic_stats(), first)
    plot(synthetic_stats(), second)
    assert_real_png(first)
    assert first.read_bytes() == second.read_bytes()


def test_counts_figure_plots_the_samples_and_failures_of_each_split_and_class(
    tmp_path: Path, drawn_figures
):
    """A figure that is not blank can still show the wrong counts: the bars are read back."""
    stats = synthetic_stats()
    sf.plot_counts(stats, tmp_path / "counts.png")
    [figure] = drawn_figures
    counts = figure.axes[0]
    # Per class, its samples per split, then its failed files stacked on top of them.
    assert bar_heights(counts) == [6, 2, 2, 2, 0, 0, 6, 2, 2, 0, 1, 0]
    failed_bars = [bar for bar in counts.patches if bar.get_hatch() == "//"]
    assert [bar.get_y() for bar in failed_bars] == [6, 2, 2, 6, 2, 2]  # on top of the samples
    assert tick_labels(counts.xaxis) == list(sf.SPLITS)
    texts = figure_texts(figure)
    assert "6 + 2" in texts and "2 + 1" in texts  # samples + failed, at the real bars
    assert "toy: samples per split and class (20 of 23 files)" in texts
    attacks = figure.axes[1]  # per attack, real then fake: the known_attacks rows
    rows = sf.known_attacks(stats)
    assert bar_heights(attacks, horizontal=True) == [
        *(row[2]["real"] for row in rows),
        *(row[2]["fake"] for row in rows),
    ]


def test_durations_and_sample_rates_figures_plot_the_histograms(tmp_path: Path, drawn_figures):
    stats = synthetic_stats()
    sf.plot_durations(stats, tmp_path / "durations.png")
    sf.plot_sample_rates(stats, tmp_path / "rates.png")
    durations, rates = drawn_figures
    assert bar_heights(durations.axes[0]) == [0, 5, 7, 4, 4, 0]
    assert tick_labels(durations.axes[0].xaxis) == list(stats["duration_histogram"])
    assert bar_heights(rates.axes[0]) == [4, 10, 6]  # in rate order: 8, 16, 44.1 kHz
    assert tick_labels(rates.axes[0].xaxis) == ["8 kHz", "16 kHz", "44.1 kHz"]
    assert "toy: original sample rates, all resampled to 16 kHz" in figure_texts(rates)


def test_failure_reasons_figure_plots_one_bar_per_kind(tmp_path: Path, drawn_figures):
    sf.plot_failure_reasons(synthetic_stats(), tmp_path / "reasons.png")
    [figure] = drawn_figures
    ax = figure.axes[0]
    assert bar_heights(ax, horizontal=True) == [2, 1]  # the kinds, most common first
    assert tick_labels(ax.yaxis) == [
        "too short: N samples, N s (minimum is N s)",
        "empty file (N bytes)",
    ]
    assert "toy: failure reasons (3 of 23 files failed)" in figure_texts(figure)


def test_counts_show_attacks_only_when_known(tmp_path: Path):
    with_attacks = sf.plot_counts(synthetic_stats(), tmp_path / "attacks.png")
    unknown = {split: {"-": {"real": 2, "fake": 2}} for split in sf.SPLITS}
    without = sf.plot_counts(synthetic_stats(attacks=unknown), tmp_path / "plain.png")
    assert sf.known_attacks(synthetic_stats(attacks=unknown)) == []
    rows = sf.known_attacks(synthetic_stats())
    assert ("training", "A01", {"real": 0, "fake": 6}) in rows
    assert ("training", "bona fide / unknown", {"real": 6, "fake": 0}) in rows
    # The attack panel makes the figure wider.
    assert imread(with_attacks).shape[1] > imread(without).shape[1]
    assert imread(without).shape[1] == imread(tmp_path / "plain.png").shape[1]


def test_stats_read_back_from_json_have_string_keys(tmp_path: Path, drawn_figures):
    stats = synthetic_stats(original_sample_rates={"16000": 3, "48000": 1})
    assert_real_png(sf.plot_sample_rates(stats, tmp_path / "rates.png"))
    [figure] = drawn_figures
    assert bar_heights(figure.axes[0]) == [3, 1]
    assert tick_labels(figure.axes[0].xaxis) == ["16 kHz", "48 kHz"]


def test_failure_reasons_are_grouped_by_kind(tmp_path: Path):
    kinds = sf.reason_kinds(synthetic_stats()["failure_reasons"])
    assert kinds == {"too short: N samples, N s (minimum is N s)": 2, "empty file (N bytes)": 1}
    assert sf.reason_kinds({"not audio (an mp3 inside x.wav)": 1}) == {
        "not audio (an mp3 inside x.wav)": 1
    }


def test_no_failures_still_gives_a_figure_saying_so(tmp_path: Path, drawn_figures):
    stats = synthetic_stats(failure_reasons={}, total_failures=0)
    assert_real_png(sf.plot_failure_reasons(stats, tmp_path / "none.png"), min_bytes=2000)
    [figure] = drawn_figures
    assert bar_heights(figure.axes[0], horizontal=True) == []
    assert "No failures: all 23 files became samples." in figure_texts(figure)


def test_failures_table_escapes_and_caps_rows(tmp_path: Path):
    failures = tmp_path / "failures.csv"
    rows = [f'"<b>{i}&.wav",training,0,empty file (0 bytes)' for i in range(5)]
    failures.write_text("path,split,label,reason\n" + "\n".join(rows) + "\n")
    page = sf.write_failures_table(failures, tmp_path / "t.html", max_rows=3).read_text()
    assert "&lt;b&gt;0&amp;.wav" in page and "<b>0" not in page
    assert page.count("<tr>") == 4  # header + 3 rows
    assert "5 files failed. The first 3 are shown" in page
    empty = tmp_path / "empty.csv"
    empty.write_text("path,split,label,reason\n")
    assert "No failures" in sf.write_failures_table(empty, tmp_path / "e.html").read_text()


def write_batches(directory: Path, shape: tuple[int, ...], dtype=np.float32) -> dict:
    """Two training batches (fake first, as the manifest sorts) and one validation batch."""
    rng = np.random.default_rng(0)
    metadata = {"training": [], "validation": [], "testing": []}
    layout = [("training", [1, 1, 1, 1]), ("training", [1, 0, 0, 0]), ("validation", [0, 1])]
    for index, (split, labels) in enumerate(layout):
        data = rng.random((len(labels), *shape))
        if dtype == np.int16:
            data = (data * 2 - 1) * 32767
        path = directory / f"{split}_batch_{index}.pkl"
        sources = [f"corpus/{split}/{'fake' if y else 'real'}/clip {index}-{i}.wav"
                   for i, y in enumerate(labels)]  # fmt: skip
        batch = {"data": data.astype(dtype), "labels": np.array(labels), "source_files": sources}
        path.write_bytes(pickle.dumps(batch))
        metadata[split].append({"file_path": path.name, "labels": labels, "source_files": sources,
                                "num_samples": len(labels)})  # fmt: skip
    return metadata


def test_examples_are_the_first_of_each_class_from_the_labels(tmp_path: Path):
    metadata = write_batches(tmp_path, (8, 16))
    examples = ef.pick_examples(metadata, per_class=3)
    assert [(e.label, e.split, Path(e.source_file).name) for e in examples] == [
        (0, "training", "clip 1-1.wav"), (0, "training", "clip 1-2.wav"),
        (0, "training", "clip 1-3.wav"), (1, "training", "clip 0-0.wav"),
        (1, "training", "clip 0-1.wav"), (1, "training", "clip 0-2.wav"),
    ]  # fmt: skip
    arrays = ef.load_examples(examples, tmp_path)
    batch = pickle.loads((tmp_path / "training_batch_1.pkl").read_bytes())
    np.testing.assert_array_equal(arrays[0], batch["data"][1])
    # Too few real samples in training: validation fills in.
    more = ef.pick_examples(metadata, per_class=4)
    assert [e.split for e in more if e.label == 0] == ["training"] * 3 + ["validation"]


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((8, 16), np.float32), ((8, 16, 3), np.float32), ((400,), np.int16)],
    ids=["image", "rgb", "waveform"],
)
def test_examples_figure(tmp_path: Path, shape, dtype, drawn_figures):
    """Each panel shows its sample: the first three real files of training (batch 1, rows 1-3)
    on top, the first three fake ones (batch 0, rows 0-2) below, as float32."""
    metadata = write_batches(tmp_path, shape, dtype)
    out = ef.plot_examples(metadata, tmp_path / "examples.png", per_class=3, base_dir=tmp_path)
    assert_real_png(out)
    [figure] = drawn_figures
    batches = [pickle.loads((tmp_path / f"training_batch_{i}.pkl").read_bytes()) for i in (0, 1)]
    expected = [*batches[1]["data"][1:4], *batches[0]["data"][0:3]]  # real row, then fake row
    panels = figure.axes[:6]
    for panel, sample in zip(panels, expected, strict=True):
        shown = panel.images[0].get_array() if len(shape) > 1 else panel.lines[0].get_ydata()
        sample = sample.astype(np.float32) / 32767 if dtype == np.int16 else sample
        np.testing.assert_array_equal(np.asarray(shown), ef.as_image(sample))
    titles = [panel.get_title() for panel in panels]
    assert titles[0] == "real: clip 1-1.wav" and titles[3] == "fake: clip 0-0.wav"


def test_dataset_report_writes_what_it_is_asked_for(tmp_path: Path):
    stats_path = tmp_path / "dataset_stats.pkl"
    stats_path.write_bytes(pickle.dumps(synthetic_stats()))
    metadata_path = tmp_path / "batch_metadata.pkl"
    metadata_path.write_bytes(pickle.dumps(write_batches(tmp_path, (8, 16))))
    failures = tmp_path / "failures.csv"
    failures.write_text("path,split,label,reason\na.wav,training,0,empty file (0 bytes)\n")
    outputs = {"counts": tmp_path / "r/c.png", "examples": tmp_path / "r/e.png",
               "failures_table": tmp_path / "r/f.html"}  # fmt: skip
    written = rp.dataset_report(stats_path, metadata_path, failures, outputs, base_dir=tmp_path)
    assert set(written) == set(outputs) and all(path.exists() for path in written.values())
    # Each is the figure its own function draws from these files, not merely a figure.
    counts = sf.plot_counts(synthetic_stats(), tmp_path / "alone-counts.png")
    assert written["counts"].read_bytes() == counts.read_bytes()
    title = "toy: 3 real and 3 fake samples (8, 16)"
    metadata = pickle.loads(metadata_path.read_bytes())
    examples = ef.plot_examples(metadata, tmp_path / "e.png", base_dir=tmp_path, title=title)
    assert written["examples"].read_bytes() == examples.read_bytes()
    assert "a.wav" in written["failures_table"].read_text()
    assert not list((tmp_path / "r").glob(".*partial*"))
    with pytest.raises(ValueError, match="unknown report outputs"):
        rp.dataset_report(stats_path, metadata_path, failures, {"pie": tmp_path / "p.png"})


def test_colour_range_is_fixed_for_unit_images_and_robust_otherwise():
    assert ef.colour_range([np.full((4, 4), 0.5), np.zeros((4, 4))]) == (0.0, 1.0)
    lfcc = np.concatenate([np.full(3, -100.0), np.linspace(-1, 1, 97)])
    low, high = ef.colour_range([lfcc.reshape(10, 10)])
    assert -1.0 <= low < high <= 1.0
    assert ef.colour_range([]) == (0.0, 1.0)


def test_a_full_disk_while_drawing_is_the_clear_output_error(tiny_disk: Path):
    """Used to be a 40-line PIL traceback; now the message every output write gives."""
    (tiny_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 8192))
    with pytest.raises(OutputWriteError, match=r"cannot write outputs under .*No space left"):
        sf.plot_sample_rates(synthetic_stats(), tiny_disk / "report" / "rates.png")
    assert not list((tiny_disk / "report").iterdir())  # nothing half written
