"""Every schema violation and every --config value that is not YAML stops the workflow with
one ``fraudprep:`` line naming the key, the value and what is allowed: no WorkflowError, no
schema dump, no traceback (issue 27, item 3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import snakemake_command, write_audio

SCHEMA = "(schemas/config.schema.yaml)"
PROFILE_NOTE = "Using workflow specific profile"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("config")
    write_audio(root / "corpus" / "training" / "real" / "a.wav")
    write_audio(root / "corpus" / "training" / "fake" / "b.wav")
    return root


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        # the three examples
        ("chunk_size=0", "config key 'chunk_size' = 0: must be at least 1"),
        ("batch_size=-1", "config key 'batch_size' = -1: must be an integer of at least 1 or auto"),
        (
            "feature_profiles={a: [}",
            "config key 'feature_profiles' = '{a: [}' is not valid YAML: expected the node "
            "content, but found '}' at character 6",
        ),
        # a wrong enum, a wrong type inside a block, unknown keys, a missing key, a bound
        (
            "memory_mode=tiny",
            "config key 'memory_mode' = 'tiny': must be one of standard, low, very_low, auto",
        ),
        (
            "feature_profiles={resnet: {n_mels: many}}",
            "config key 'feature_profiles.resnet.n_mels' = 'many': must be an integer of at "
            "least 1",
        ),
        ("chunk_sise=4", "config key 'chunk_sise' is not a setting; did you mean 'chunk_size'?"),
        (
            "feature_profiles={resnet: {nmels: 64}}",
            "config key 'feature_profiles.resnet.nmels' is not a setting; did you mean "
            "'feature_profiles.resnet.n_mels'?",
        ),
        ("augmentation={copies: 1}", "config key 'augmentation' lacks 'pool', which is required"),
        (
            "augmentation={copies: 1, pool: [{kind: codec}]",
            "config key 'augmentation' = '{copies: 1, pool: [{kind: codec}]' is not valid YAML: "
            "expected ',' or '}', but got '<stream end>' at character 34",
        ),
        ("report_figures=maybe", "config key 'report_figures' = 'maybe': must be true or false"),
        ("shortcut_auc_warning=2", "config key 'shortcut_auc_warning' = 2: must be at most 1"),
        ("max_input_seconds=0", "config key 'max_input_seconds' = 0: must be more than 0"),
        ("models=resnet", "config key 'models' = 'resnet': must be a list such as [a, b]"),
        # NaN passes every bound: it turned the failure stop off, and crashed on a profile
        (
            "max_failure_fraction=nan",
            "config key 'max_failure_fraction' = nan: must be a finite number of at least 0 "
            "and at most 1",
        ),
        (
            "feature_profiles={raw: {duration: nan}}",
            "config key 'feature_profiles.raw.duration' = nan: must be a finite number of more "
            "than 0",
        ),
        (
            "max_input_seconds=.inf",
            "config key 'max_input_seconds' = inf: must be a finite number of more than 0",
        ),
    ],
)
def test_each_violation_is_one_line(workdir: Path, entry: str, line: str):
    command = snakemake_command(
        workdir, "--cores", "1", "--config", "input_dir=corpus", entry, default_profile=False
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=workdir)
    assert result.returncode == 1
    printed = [
        line
        for line in (result.stdout + result.stderr).strip().splitlines()
        if not line.startswith(PROFILE_NOTE)  # Snakemake's, before the Snakefile is read
    ]
    assert printed == [f"fraudprep: {line} {SCHEMA}"]
    assert not (workdir / "data").exists()
