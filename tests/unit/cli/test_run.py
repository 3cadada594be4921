"""cli/run.py: ``fraudprep run`` is this environment's snakemake with the machine's cores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fraudprep.cli.run import gives_cores, snakemake_command


def test_run_is_the_environments_snakemake_with_the_machines_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2}, raising=False)
    command = snakemake_command(["-n", "--config", "models=[resnet]"])
    assert command == [
        str(Path(sys.executable).parent / "snakemake"), "--cores", "3",
        "-n", "--config", "models=[resnet]",
    ]  # fmt: skip
    for given in (["--cores", "1"], ["-c1"], ["--jobs=4"], ["-j", "8"]):
        assert gives_cores(given)
        assert snakemake_command(given)[1:] == given
    assert not gives_cores(["--configfile", "c.yaml"])
