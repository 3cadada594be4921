"""cli/command.py: the ``fraudprep`` command line, its errors as one line, its console script."""

from __future__ import annotations

import importlib.metadata

from helpers import cli


def test_plan_errors_are_one_line(tmp_path):
    missing = tmp_path / "nowhere"
    cases = {
        ("plan", "--config", f"input_dir={missing}", f"output_dir={tmp_path}/o"): "input_dir",
        ("plan", "--config", "chunk_size=zero"): "chunk_size",
        ("plan", "--config", "models=[nosuch]"): "nosuch",
        ("plan", "--configfile", str(missing / "c.yaml")): "does not exist",
        ("plan", "--config", "novalue"): "KEY=VALUE",
        ("plan", "--bogus"): "unrecognized arguments",
    }
    for arguments, named in cases.items():
        done = cli(*arguments)
        assert done.returncode != 0, arguments
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fraudprep: "), (arguments, done.stderr)
        assert named in lines[0], (arguments, lines[0])
    elsewhere = cli("plan", cwd=tmp_path)
    assert elsewhere.returncode == 1
    assert elsewhere.stderr.startswith(f"fraudprep: no Snakefile in {tmp_path}")


def test_the_console_script_is_declared():
    [script] = importlib.metadata.entry_points(group="console_scripts", name="fraudprep")
    assert script.value == "fraudprep.cli:main"


def test_run_config_and_cores_errors_are_one_line_before_snakemake_starts(tmp_path):
    import subprocess
    import sys

    from helpers import REPO

    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("chunk_size: [1,\n")
    cases = {
        ("run", "--configfile", "/nonexistent.yaml"): "/nonexistent.yaml does not exist",
        ("run", "--config", "chunk_size"): "KEY=VALUE",
        ("run", "--configfile", str(bad_yaml)): f"config file {bad_yaml}",
        ("run", "--config", "models=[nosuch]"): "nosuch",
        ("run", "--cores", "0"): "--cores 0: give 1 or more",
        ("run", "-j0"): "--jobs 0: give 1 or more",
        ("plan", "--cores", "-1"): "--cores -1: give 1 or more",
    }
    for arguments, named in cases.items():
        # A timeout of its own: `run --cores 0` waited for ever.
        done = subprocess.run(
            [sys.executable, "-m", "fraudprep.cli", *arguments],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 1, (arguments, done.stdout, done.stderr)
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fraudprep: "), (arguments, lines)
        assert named in lines[0], (arguments, lines[0])
