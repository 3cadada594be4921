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
