"""Where a run's logs and benchmarks go: under its output_dir, apart from other runs'."""

from __future__ import annotations

from pathlib import Path

from helpers import run_tree

OUT = "data/preprocessed"


def test_runs_into_other_output_dirs_keep_their_logs_apart_and_rerun_nothing(workdir: Path):
    """logs/ and benchmarks/ were shared by every output_dir of a working directory: a run's
    job figure showed another run's jobs, and the other run's figure then reran."""
    runs = {"run_a": ("report_figures=True",), "run_b": ("report_figures=True", "chunk_size=2")}
    for run, config in runs.items():
        run_tree(workdir, f"output_dir={run}", *config)
    for run in runs:
        table = (workdir / run / "chunks.csv").read_text().splitlines()[1:]
        logs = sorted(p.stem for p in (workdir / run / "logs/extract_features").iterdir())
        assert logs == sorted(line.split(",")[0] for line in table), run
    for run, config in runs.items():
        assert "Nothing to be done" in run_tree(workdir, f"output_dir={run}", *config), run
    assert not (workdir / "logs").exists() and not (workdir / "benchmarks").exists()
