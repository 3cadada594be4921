"""cli/outlook.py: the batches ``fraudprep plan`` counts are the batches a run writes."""

from __future__ import annotations

import pickle

import pytest
import yaml
from helpers import REPO, TREE_FILES, run_steps

from fraudprep.cli.inventory import take_inventory
from fraudprep.cli.outlook import model_outlooks
from fraudprep.extraction.augment import AugmentationPlan
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.run.settings import resolve_model_settings

CHUNK_SIZE = 4  # chunks of 4 rows: batches are cut short at every split and chunk boundary


@pytest.mark.parametrize("storage", ["pickle", "shards"])
def test_plan_batches_equal_the_batches_a_run_writes(tmp_path, for_tree, storage):
    """No file fails here, so the plan's count is exact; batch size 3 and chunks of 4 rows
    cut batches short at every split and chunk boundary."""
    stats = run_steps(tmp_path / "out", "resnet", DatasetConfig(input_dir=str(for_tree)),
                      storage=storage, batch_size=3, chunk_size=CHUNK_SIZE)  # fmt: skip
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    settings = resolve_model_settings({**config, "batch_size": 3, "format": storage}, "resnet")
    per_split = take_inventory(DatasetConfig(input_dir=str(for_tree))).per_split
    [outlook] = model_outlooks([settings], per_split, CHUNK_SIZE, None)
    assert stats["total_failures"] == 0
    assert outlook.batches == stats["total_batches"] == sum(stats["batches"].values())


def test_plan_counts_the_batches_of_augmented_copies(tmp_path, for_tree):
    block = {"copies": 2, "splits": ["training"], "seed": 0, "pool": [{"kind": "telephone"}]}
    augmentation = AugmentationPlan.from_config(block)
    stats = run_steps(tmp_path / "out", "lfcc", DatasetConfig(input_dir=str(for_tree)),
                      batch_size=3, chunk_size=CHUNK_SIZE, plan=augmentation)  # fmt: skip
    metadata = pickle.loads((tmp_path / "out/lfcc/batch_metadata.pkl").read_bytes())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    settings = resolve_model_settings({**config, "batch_size": 3}, "lfcc")
    per_split = take_inventory(DatasetConfig(input_dir=str(for_tree))).per_split
    [outlook] = model_outlooks([settings], per_split, CHUNK_SIZE, augmentation)
    assert stats["total_failures"] == 0
    assert outlook.batches == sum(len(entries) for entries in metadata.values())
    assert outlook.samples == len(TREE_FILES) + 2 * per_split["training"]
