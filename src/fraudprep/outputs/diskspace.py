"""Will the outputs fit? The bytes every model will write, checked against the free space of
``output_dir``'s filesystem before the first extraction job (rule ``check_disk_space``).

The estimate is the bytes a sample takes in its format and dtype (known exactly from the
profile) times the samples to come: every file of the manifest, plus the augmented copies,
as if none failed. Models whose arrays another model already writes (see
:func:`fraudprep.run.settings.twins`) cost nothing more: they are hard links.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.formats import storage_format, write_json
from fraudprep.base.logs import decimal_size, one_line_on
from fraudprep.extraction.augment import AugmentationPlan
from fraudprep.extraction.store import stored_shape
from fraudprep.inputs.manifest import iter_manifest
from fraudprep.run.settings import COMPACT_DTYPES, ModelSettings, read_settings, twins

# Room kept beyond the estimate: metadata, tables, logs, figures and a filesystem's own use.
MARGIN_FRACTION = 0.05
MARGIN_BYTES = 100 * 2**20


class DiskSpaceError(OSError):
    """The outputs will not fit; the message says what is needed, what is free and how to
    need less."""


def sample_bytes(settings: ModelSettings) -> int:
    """Bytes one sample of ``settings`` takes on disk, in its format and dtype."""
    storage = storage_format(settings.storage_format)
    shape = stored_shape(settings.profile.output_shape, storage)
    array = math.prod(shape) * np.dtype(settings.profile.dtype).itemsize
    return storage.bytes_per_sample(array, settings.batch_size)


def samples_to_write(manifest_path: str | Path, augmentation: Mapping[str, Any] | None) -> int:
    """Every manifest row, and each augmented split's rows once more per copy."""
    per_split: Counter = Counter(row.split for row in iter_manifest(manifest_path))
    return samples_for_splits(per_split, AugmentationPlan.from_config(augmentation))


def samples_for_splits(per_split: Mapping[str, int], plan: AugmentationPlan | None) -> int:
    """Every file, and each augmented split's files once more per copy (``fraudprep plan``
    counts the files per split without a manifest)."""
    samples = sum(per_split.values())
    if plan is not None:
        samples += sum(per_split.get(split, 0) for split in plan.splits) * plan.copies
    return samples


def output_bytes(models: Sequence[ModelSettings], samples: int) -> dict[str, int]:
    """Bytes per model; a model whose arrays an earlier one writes costs 0 (hard links)."""
    shared = twins(models)
    return {
        settings.model: 0 if index in shared else samples * sample_bytes(settings)
        for index, settings in enumerate(models)
    }


def compact(settings: ModelSettings) -> ModelSettings:
    """The same model in the most compact choice: shards, mel images as uint8, float16."""
    profile = dataclasses.replace(settings.profile, dtype=COMPACT_DTYPES[settings.profile.kind])
    return dataclasses.replace(
        settings, profile=profile, storage_format="shards",
        shard_samples=settings.shard_samples or 1000, shard_mb=settings.shard_mb or 100.0,
    )  # fmt: skip


def check_disk_space(
    manifest_path: str | Path,
    models: Sequence[ModelSettings],
    output_dir: str | Path,
    augmentation: Mapping[str, Any] | None = None,
    free_bytes: int | None = None,
) -> dict[str, Any]:
    """The estimate, or :class:`DiskSpaceError` when it does not fit in the free space."""
    samples = samples_to_write(manifest_path, augmentation)
    per_model = output_bytes(models, samples)
    needed = needed_bytes(per_model)
    free = free_bytes
    if free is None:
        free = shutil.disk_usage(nearest_existing(output_dir)).free
    # The free space is logged, not kept: the record is the same on every run of the inputs.
    estimate = {"samples": samples, "bytes_per_model": per_model, "needed": needed}
    if needed > free:
        raise DiskSpaceError(
            f"the outputs need {decimal_size(needed)} under {output_dir} ({len(models)} "
            f"model(s), {samples:,} samples: {decimal_size(sum(per_model.values()))} of arrays, "
            f"a {MARGIN_FRACTION:.0%} margin and {decimal_size(MARGIN_BYTES)} spare) but its "
            f"filesystem has {decimal_size(free)} free"
            f"{compact_hint(models, samples, needed, free)}. Free "
            "space or set output_dir to a larger disk (docs/output-formats.md)"
        )
    return estimate


def compact_hint(models: Sequence[ModelSettings], samples: int, needed: int, free: int) -> str:
    """What the most compact outputs would need, where they need less than these."""
    smaller = [compact(m) for m in models]
    compact_needed = needed_bytes(output_bytes(smaller, samples))
    if compact_needed >= needed:
        return ""  # already as compact as they go
    fits = "which fits" if compact_needed <= free else "still more than is free"
    return (
        f"; with format: shards and compact dtypes (uint8 mel images, float16 otherwise) "
        f"they would need {decimal_size(compact_needed)}, {fits}"
    )


def needed_bytes(per_model: Mapping[str, int]) -> int:
    """What the check asks to be free for these outputs: their bytes, a margin and a spare."""
    return int(sum(per_model.values()) * (1 + MARGIN_FRACTION)) + MARGIN_BYTES


def nearest_existing(path: str | Path) -> Path:
    """The nearest folder that exists: output_dir may not be made yet."""
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    return path


def run_disk_check(
    manifest_path: str,
    settings_paths: Sequence[str],
    output_dir: str,
    augmentation: Mapping[str, Any] | None,
    estimate_path: str,
) -> None:
    """The ``check_disk_space`` rule's entry point: the estimate to ``estimate_path``, or one
    ``fraudprep:`` line on the console (the job's log gets it too) and exit status 1."""
    models = [read_settings(path) for path in settings_paths]
    with one_line_on(DiskSpaceError):
        estimate = check_disk_space(manifest_path, models, output_dir, augmentation)
    write_json(estimate_path, estimate)
    free = shutil.disk_usage(nearest_existing(output_dir)).free
    print(f"Outputs need about {decimal_size(estimate['needed'])}; {decimal_size(free)} free")
