"""The report: figures drawn by fraudprep.report.report_plots, and `snakemake --report` around
them."""

from __future__ import annotations

import math
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import snakemake_command, write_audio
from matplotlib.image import imread

from fraudprep.base.atomic import OutputWriteError
from fraudprep.report import job_resources
from fraudprep.report import report_plots as rp

OUT = "data/preprocessed"
MODELS = ("unetr", "resnet")
FIGURES = ("counts.png", "durations.png", "sample_rates.png", "failure_reasons.png",
           "examples.png")  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_real_png(path: Path, min_bytes: int = 5000) -> np.ndarray:
    """A valid PNG of some size whose pixels are not all the same, without software/date."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > min_bytes, (path, len(data))
    assert b"Software" not in data and b"matplotlib" not in data.lower(), path
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100, path
    assert float(pixels[..., :3].std()) > 0.01, f"{path} is blank"
    return pixels


# ----------------------------------------------------------------------------- the workflow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = snakemake_command(
        workdir, "--config", "input_dir=corpus", "chunk_size=6",
        f"models=[{','.join(MODELS)}]", *args,
    )  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


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
def test_every_figure_is_a_png_that_shows_something(reported_run: Path, model: str):
    for name in FIGURES:
        assert_real_png(reported_run / OUT / "report" / model / name)
    assert_real_png(reported_run / OUT / "benchmarks/report/extract_features.png")


@pytest.mark.parametrize("model", MODELS)
def test_every_shortcut_figure_is_drawn_and_the_table_lists_every_property(
    reported_run: Path, model: str
):
    from fraudprep.extraction.properties import PROPERTIES

    for name in PROPERTIES:
        assert_real_png(reported_run / OUT / "report" / model / "shortcuts" / f"{name}.png")
    table = (reported_run / OUT / "report" / model / "shortcuts.html").read_text()
    for name in (*PROPERTIES, "all properties together"):
        assert f"<td>{name}</td>" in table


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


# ----------------------------------------------------------------------------- unit tests


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
    "plot", [rp.plot_counts, rp.plot_durations, rp.plot_sample_rates, rp.plot_failure_reasons]
)
def test_stats_figures_are_deterministic_pngs(tmp_path: Path, plot):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plot(synthetic_stats(), first)
    plot(synthetic_stats(), second)
    assert_real_png(first)
    assert first.read_bytes() == second.read_bytes()


def test_counts_show_attacks_only_when_known(tmp_path: Path):
    with_attacks = rp.plot_counts(synthetic_stats(), tmp_path / "attacks.png")
    unknown = {split: {"-": {"real": 2, "fake": 2}} for split in rp.SPLITS}
    without = rp.plot_counts(synthetic_stats(attacks=unknown), tmp_path / "plain.png")
    assert rp.known_attacks(synthetic_stats(attacks=unknown)) == []
    rows = rp.known_attacks(synthetic_stats())
    assert ("training", "A01", {"real": 0, "fake": 6}) in rows
    assert ("training", "bona fide / unknown", {"real": 6, "fake": 0}) in rows
    # The attack panel makes the figure wider.
    assert imread(with_attacks).shape[1] > imread(without).shape[1]


def test_stats_read_back_from_json_have_string_keys(tmp_path: Path):
    stats = synthetic_stats(original_sample_rates={"16000": 3, "48000": 1})
    assert_real_png(rp.plot_sample_rates(stats, tmp_path / "rates.png"))


def test_failure_reasons_are_grouped_by_kind(tmp_path: Path):
    kinds = rp.reason_kinds(synthetic_stats()["failure_reasons"])
    assert kinds == {"too short: N samples, N s (minimum is N s)": 2, "empty file (N bytes)": 1}
    assert rp.reason_kinds({"not audio (an mp3 inside x.wav)": 1}) == {
        "not audio (an mp3 inside x.wav)": 1
    }


def test_no_failures_still_gives_a_figure_saying_so(tmp_path: Path):
    stats = synthetic_stats(failure_reasons={}, total_failures=0)
    assert_real_png(rp.plot_failure_reasons(stats, tmp_path / "none.png"), min_bytes=2000)


def test_failures_table_escapes_and_caps_rows(tmp_path: Path):
    failures = tmp_path / "failures.csv"
    rows = [f'"<b>{i}&.wav",training,0,empty file (0 bytes)' for i in range(5)]
    failures.write_text("path,split,label,reason\n" + "\n".join(rows) + "\n")
    page = rp.write_failures_table(failures, tmp_path / "t.html", max_rows=3).read_text()
    assert "&lt;b&gt;0&amp;.wav" in page and "<b>0" not in page
    assert page.count("<tr>") == 4  # header + 3 rows
    assert "5 files failed. The first 3 are shown" in page
    empty = tmp_path / "empty.csv"
    empty.write_text("path,split,label,reason\n")
    assert "No failures" in rp.write_failures_table(empty, tmp_path / "e.html").read_text()


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
    examples = rp.pick_examples(metadata, per_class=3)
    assert [(e.label, e.split, Path(e.source_file).name) for e in examples] == [
        (0, "training", "clip 1-1.wav"), (0, "training", "clip 1-2.wav"),
        (0, "training", "clip 1-3.wav"), (1, "training", "clip 0-0.wav"),
        (1, "training", "clip 0-1.wav"), (1, "training", "clip 0-2.wav"),
    ]  # fmt: skip
    arrays = rp.load_examples(examples, tmp_path)
    batch = pickle.loads((tmp_path / "training_batch_1.pkl").read_bytes())
    np.testing.assert_array_equal(arrays[0], batch["data"][1])
    # Too few real samples in training: validation fills in.
    more = rp.pick_examples(metadata, per_class=4)
    assert [e.split for e in more if e.label == 0] == ["training"] * 3 + ["validation"]


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((8, 16), np.float32), ((8, 16, 3), np.float32), ((400,), np.int16)],
    ids=["image", "rgb", "waveform"],
)
def test_examples_figure(tmp_path: Path, shape, dtype):
    metadata = write_batches(tmp_path, shape, dtype)
    out = rp.plot_examples(metadata, tmp_path / "examples.png", per_class=3, base_dir=tmp_path)
    assert_real_png(out)


def test_job_resources_from_benchmarks_and_logs(tmp_path: Path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "training-00000.tsv").write_text(
        header + "2.50\t0:00:02\t74.9\t1\t1\t1\t0\t0\t0\t1\n"
    )
    (tmp_path / "training-00001.tsv").write_text(
        header + "0.20\t0:00:00\tNA\t-\t-\t-\t-\t-\t-\t-\n"
    )
    (tmp_path / "training-00000.log").write_text(
        "x INFO Peak memory usage: 99.00 MB\nretried\nx INFO Peak memory usage: 129.57 MB\n"
    )
    benchmarks = [tmp_path / "training-00000.tsv", tmp_path / "training-00001.tsv",
                  tmp_path / "testing-00000.tsv"]  # fmt: skip
    logs = [path.with_suffix(".log") for path in benchmarks]
    jobs = job_resources.read_job_resources(benchmarks, logs)
    assert [job.chunk for job in jobs] == ["training-00000", "training-00001", "testing-00000"]
    assert (jobs[0].seconds, jobs[0].max_rss_mb, jobs[0].peak_mb) == (2.5, 74.9, 129.57)
    assert jobs[1].seconds == 0.2 and math.isnan(jobs[1].max_rss_mb) and math.isnan(jobs[1].peak_mb)
    assert math.isnan(jobs[2].seconds)  # no benchmark file: still a row, no crash
    assert_real_png(job_resources.plot_job_resources(jobs, tmp_path / "jobs.png"))
    assert_real_png(job_resources.plot_job_resources([], tmp_path / "none.png"), min_bytes=2000)


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
    assert not list((tmp_path / "r").glob(".*partial*"))
    with pytest.raises(ValueError, match="unknown report outputs"):
        rp.dataset_report(stats_path, metadata_path, failures, {"pie": tmp_path / "p.png"})


def test_colour_range_is_fixed_for_unit_images_and_robust_otherwise():
    assert rp.colour_range([np.full((4, 4), 0.5), np.zeros((4, 4))]) == (0.0, 1.0)
    lfcc = np.concatenate([np.full(3, -100.0), np.linspace(-1, 1, 97)])
    low, high = rp.colour_range([lfcc.reshape(10, 10)])
    assert -1.0 <= low < high <= 1.0
    assert rp.colour_range([]) == (0.0, 1.0)


def test_a_full_disk_while_drawing_is_the_clear_output_error(tiny_disk: Path):
    """Used to be a 40-line PIL traceback; now the message every output write gives."""
    (tiny_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 8192))
    with pytest.raises(OutputWriteError, match=r"cannot write outputs under .*No space left"):
        rp.plot_sample_rates(synthetic_stats(), tiny_disk / "report" / "rates.png")
    assert not list((tiny_disk / "report").iterdir())  # nothing half written
