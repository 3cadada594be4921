"""What a run of the inventory would make: chunks, and per model samples, batches and bytes.

Chunks are counted by :func:`fraudprep.inputs.chunks.chunk_count` and cut as
``plan_chunks`` cuts them; bytes are the disk check's (:mod:`fraudprep.outputs.diskspace`):
every file and augmented copy as a sample, models sharing their arrays counted once.
Batches follow the extraction job: a batch (or shard) closes when full, when the split
changes, and at the end of each chunk; the manifest is sorted by split, so each chunk holds
one run of rows per split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fraudprep.extraction.augment import AugmentationPlan
from fraudprep.inputs.chunks import chunk_sizes
from fraudprep.inputs.manifest import SPLITS
from fraudprep.outputs.diskspace import (
    needed_bytes,
    output_bytes,
    sample_bytes,
    samples_for_splits,
)
from fraudprep.run.settings import ModelSettings, twins

# (split, rows) for each stretch of one split within one chunk
Segment = tuple[str, int]


def chunk_segments(per_split: Mapping[str, int], sizes: Sequence[int]) -> list[list[Segment]]:
    """Each chunk's runs of rows of one split, in manifest order (training, validation, ...)."""
    remaining = [(split, per_split.get(split, 0)) for split in SPLITS]
    remaining = [(split, rows) for split, rows in remaining if rows]
    chunks = []
    for size in sizes:
        segments: list[Segment] = []
        while size:
            split, rows = remaining[0]
            taken = min(rows, size)
            segments.append((split, taken))
            size -= taken
            if taken == rows:
                remaining.pop(0)
            else:
                remaining[0] = (split, rows - taken)
        chunks.append(segments)
    return chunks


@dataclass(frozen=True)
class ModelOutlook:
    settings: ModelSettings
    samples: int  # every file, and the augmented copies, as the disk check counts them
    batches: int  # batch files (shards), if every file becomes a sample
    bytes: int  # 0 when another model's files are hard-linked (shared_with)
    shared_with: str | None


def samples_per_file(settings: ModelSettings) -> int:
    """How many samples one batch file (or shard) holds when full."""
    if settings.storage_format != "shards":
        return settings.batch_size
    assert settings.shard_samples is not None and settings.shard_mb is not None
    # A shard closes on the sample that reaches shard_mb (ShardAccumulator.add).
    by_bytes = math.ceil(settings.shard_mb * 2**20 / sample_bytes(settings))
    return max(1, min(settings.shard_samples, by_bytes))


def batch_count(
    settings: ModelSettings,
    chunks: Sequence[Sequence[Segment]],
    augmentation: AugmentationPlan | None,
) -> int:
    """Batch files of one model: each chunk's run of a split fills its own batches, and so
    do its augmented copies (in batches of their own)."""
    per_file = samples_per_file(settings)
    batches = 0
    for segments in chunks:
        for split, rows in segments:
            batches += math.ceil(rows / per_file)
            if augmentation is not None and split in augmentation.splits:
                batches += math.ceil(rows * augmentation.copies / per_file)
    return batches


def model_outlooks(
    models: Sequence[ModelSettings],
    per_split: Mapping[str, int],
    chunk_size: int,
    augmentation: AugmentationPlan | None,
) -> list[ModelOutlook]:
    samples = samples_for_splits(per_split, augmentation)
    chunks = chunk_segments(per_split, chunk_sizes(sum(per_split.values()), chunk_size))
    written = output_bytes(models, samples)
    shared = twins(models)
    return [
        ModelOutlook(
            settings=settings,
            samples=samples,
            batches=batch_count(settings, chunks, augmentation),
            bytes=written[settings.model],
            shared_with=models[shared[index]].model if index in shared else None,
        )
        for index, settings in enumerate(models)
    ]


def bytes_needed(outlooks: Sequence[ModelOutlook]) -> int:
    """What the disk check asks to be free: every model's bytes, with its margin."""
    return needed_bytes({o.settings.model: o.bytes for o in outlooks})
