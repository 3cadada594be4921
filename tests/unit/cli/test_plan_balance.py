"""cli/plan.py: the plan warns of a split with no files or one class, as dataset_stats does."""

from __future__ import annotations

from pathlib import Path

from helpers import cli, write_audio

from fraudprep.cli.inventory import Inventory
from fraudprep.cli.plan import _file_lines
from fraudprep.inputs.manifest import ManifestRow
from fraudprep.outputs.dataset_stats import balance_warnings


def test_plan_warns_of_an_empty_split_and_a_split_of_one_class():
    inventory = Inventory()
    for i in range(3):
        inventory.add(ManifestRow(f"/t/{i}.wav", "training", i % 2, 10), [])
    for i in range(2):  # testing: fakes only (an MLAAD system split without bona fide)
        inventory.add(ManifestRow(f"/e/{i}.wav", "testing", 1, 10, attack="tts_a"), [])
    warnings = [line for line in _file_lines(inventory) if "warning" in line]
    assert warnings == ["  warning: validation has no samples",
                        "  warning: testing has only fake samples (2)"]  # fmt: skip
    # The very words of the run's dataset_stats.
    counts = {"training": {"real": 2, "fake": 1}, "validation": {"real": 0, "fake": 0},
              "testing": {"real": 0, "fake": 2}}  # fmt: skip
    assert [f"  warning: {w}" for w in balance_warnings(counts)] == warnings


def test_plan_of_a_tree_with_only_training_real_says_so(tmp_path: Path):
    for i in range(2):
        write_audio(tmp_path / "for" / "training" / "real" / f"{i}.wav", seconds=0.2, seed=i)
    out = tmp_path / "out"
    done = cli("plan", "--config", f"input_dir={tmp_path / 'for'}", f"output_dir={out}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  warning: training has only real samples (2)" in lines
    assert "  warning: validation has no samples" in lines
    assert "  warning: testing has no samples" in lines
