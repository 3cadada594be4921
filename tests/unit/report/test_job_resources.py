"""report/job_resources.py: the extraction jobs' runtimes and peak memory, from benchmark
files and job logs, and the figure that shows them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from helpers import assert_real_png, bar_heights, figure_texts

from fraudprep.report import job_resources


def test_job_resources_from_benchmarks_and_logs(tmp_path: Path, drawn_figures):
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
    figure, empty = drawn_figures
    runtime, memory = figure.axes[:2]
    assert bar_heights(runtime) == [2.5, 0.2, 0.0]  # a job without a benchmark: an empty bar
    assert bar_heights(memory) == [129.57, 0.0, 0.0]  # the log's peak, not max_rss
    rss = memory.lines[0].get_ydata()
    assert rss[0] == 74.9 and np.isnan(rss[1:]).all()
    assert [label.get_text() for label in memory.get_xticklabels()] == [job.chunk for job in jobs]
    assert "runtime per job (benchmark 's'; 3 jobs, 2.7 s in all)" in figure_texts(figure)
    assert "no extraction jobs recorded" in figure_texts(empty)
