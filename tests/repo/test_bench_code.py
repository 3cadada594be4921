"""The bench is not run by the tests (it measures, for minutes), but its code must keep up with
the library it imports: a renamed function must fail here, not at the next `make bench`."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from helpers import REPO

MODULES = sorted(p.stem for p in (REPO / "bench").glob("*.py") if p.stem != "__main__")


@pytest.mark.parametrize("module", MODULES)
def test_every_bench_module_imports(module: str):
    importlib.import_module(f"bench.{module}")


def test_the_bench_command_line_starts():
    result = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--files" in result.stdout


def test_plan_scale_builds_a_deterministic_for_tree_and_states_its_target(tmp_path):
    from bench.plan_scale import (
        TARGET_FILES,
        PlanReport,
        PlanRun,
        build_tree,
        layout,
        markdown,
        write_listing,
    )
    from bench.runner import Usage

    build_tree(tmp_path, 40)
    wavs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.wav"))
    assert len(wavs) == 40 and all((tmp_path / w).stat().st_size == 0 for w in wavs)
    assert [layout(i)[0] for i in range(20)].count("training") == 14
    assert {layout(i)[1] for i in range(2)} == {"real", "fake"}
    write_listing(tmp_path / "listing.csv", 40)
    rows = (tmp_path / "listing.csv").read_text().splitlines()
    assert rows[0] == "path,split,label" and sorted(r.split(",")[0] for r in rows[1:]) == wavs

    def run(wall_s: float) -> PlanRun:
        usage = Usage(wall_s=wall_s, cpu_s=wall_s, peak_rss_mb=100.0, log=tmp_path / "log")
        return PlanRun("FoR tree", TARGET_FILES, [usage] * 3)

    assert "| met |" in markdown(PlanReport(runs=[run(2.5)]))
    assert "**missed**" in markdown(PlanReport(runs=[run(12.0)]))
