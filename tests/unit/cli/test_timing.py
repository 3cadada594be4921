"""cli/timing.py: the rate a plan's time comes from, an earlier run's or bench/results.md's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import REPO, cli

from fraudprep.cli.timing import bench_rate, earlier_run_rate
from fraudprep.run.settings import resolve_model_settings


def test_plan_without_an_earlier_run_uses_the_bench_figures(tmp_path, for_tree):
    """A new output_dir: nothing measured there, so the rate is bench/results.md's."""
    out = tmp_path / "never-made"
    done = cli("plan", "--config", f"input_dir={for_tree}", f"output_dir={out}")
    assert done.returncode == 0, done.stderr
    assert not out.exists()
    assert "known failures: no failures table of an earlier run" in done.stdout
    assert f"rate {Path('bench/results.md')} (" in done.stdout
    assert earlier_run_rate(out) is None


def bench_cpu_ms(model: str) -> float:
    """The "CPU ms/file" cell of the bench's b1 row of ``model`` (mixed corpus)."""
    column = None
    for line in (REPO / "bench/results.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if "CPU ms/file" in cells:
            column = cells.index("CPU ms/file")
        elif column and len(cells) > 1 and cells[1].startswith(f"b1 extract_chunk, {model}, mixed"):
            return float(cells[column])
    raise AssertionError(f"no bench figure for {model}")


def test_bench_rate_sums_the_models_that_compute_their_own_arrays():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    models = [resolve_model_settings(config, name) for name in ("resnet", "mobilenet", "unetr")]
    rate = bench_rate(REPO, models)
    assert rate is not None
    figures = {name: bench_cpu_ms(name) for name in ("resnet", "unetr")}
    # mobilenet's arrays are resnet's (hard links): counted once.
    assert rate.seconds_per_file == pytest.approx(sum(figures.values()) / 1000)
