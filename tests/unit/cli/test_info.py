"""cli/info.py without a run: what ``fraudprep info`` says of a folder that holds no outputs."""

from __future__ import annotations

from helpers import cli


def test_info_refuses_a_folder_without_outputs(tmp_path):
    done = cli("info", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.startswith(f"fraudprep: {tmp_path} holds no fraudprep outputs")
    assert len(done.stderr.strip().splitlines()) == 1
