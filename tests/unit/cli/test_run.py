"""cli/run.py: ``fraudprep run`` is this environment's snakemake with the machine's cores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

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


def test_options_values_are_read_as_snakemake_reads_them():
    from fraudprep.cli.run import option_values

    options = ["--configfile", "a.yaml", "b.yaml", "--config", "x=1", "y=2", "-c0", "-n"]
    assert option_values(options, "--configfile", many=True) == ["a.yaml", "b.yaml"]
    assert option_values(options, "--config", "-C", many=True) == ["x=1", "y=2"]
    assert option_values(options, "--cores", "-c") == ["0"]
    assert option_values(["--cores", "-1"], "--cores", "-c") == ["-1"]
    assert option_values(["--jobs=0"], "--jobs", "-j") == ["0"]
    assert option_values(["-n"], "--directory", "-d") is None
    assert option_values(["--", "--cores", "0"], "--cores") is None


def test_cores_below_one_are_refused():
    from fraudprep.cli.errors import CliError
    from fraudprep.cli.run import checked_cores

    for options in (["--cores", "0"], ["-c0"], ["--jobs=0"], ["-j", "-1"], ["--cores", "-1"]):
        with pytest.raises(CliError, match="give 1 or more"):
            checked_cores(options)
    for options in (["--cores", "1"], ["--cores", "all"], ["--cores"], ["-j", "8"]):
        checked_cores(options)


def test_the_snakefile_is_found_with_directory_and_snakefile(tmp_path, monkeypatch):
    from fraudprep.cli.errors import CliError
    from fraudprep.cli.run import find_snakefile

    checkout, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    checkout.mkdir()
    elsewhere.mkdir()
    (checkout / "Snakefile").write_text("")
    monkeypatch.chdir(elsewhere)
    # --directory: Snakemake looks in the working directory only, so it is named to it
    assert find_snakefile(["--directory", str(checkout), "-n"]) == (
        checkout, ["--snakefile", str(checkout / "Snakefile"), "--directory", str(checkout), "-n"]
    )  # fmt: skip
    assert find_snakefile(["-d", str(checkout)])[0] == checkout
    # --snakefile: its folder is the checkout, whatever the working directory
    options = ["-s", str(checkout / "Snakefile"), "-d", str(elsewhere)]
    assert find_snakefile(options) == (checkout, options)
    with pytest.raises(CliError, match="--snakefile"):
        find_snakefile(["--snakefile", str(elsewhere / "Snakefile")])
    with pytest.raises(CliError, match=f"no Snakefile in {elsewhere} nor in --directory"):
        find_snakefile(["--directory", str(tmp_path)])
    with pytest.raises(CliError, match=f"no Snakefile in {elsewhere}; run fraudprep in"):
        find_snakefile(["-n"])


def test_run_help_is_ours_and_names_full_output():
    from helpers import cli

    done = cli("run", "--help")  # a process of its own: Snakemake's help replaced it
    assert done.returncode == 0
    assert "fraudprep run --full-output --help" in done.stdout
    assert len(done.stdout.splitlines()) < 30, done.stdout
    assert "usage: snakemake" in cli("run", "--full-output", "--help").stdout
