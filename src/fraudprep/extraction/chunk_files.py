"""A chunk job's files in each model's scratch directory: opened with their headers (the
failures, properties and copy-failures tables, the batch or shard writers that record each
batch they write), closed into ``chunk.json`` at the end, and shared with a twin model as
links. What goes into them, file by file, is :mod:`fraudprep.extraction.per_file`'s business.
"""

from __future__ import annotations

import contextlib
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudprep.base.atomic import atomic_write, link_or_copy
from fraudprep.base.formats import storage_format
from fraudprep.base.layout import (
    CHUNK_METADATA,
    COPY_FAILURE_COLUMNS,
    COPY_FAILURES,
    FAILURE_COLUMNS,
    FAILURES,
    PROPERTIES,
    read_chunk_metadata,
)
from fraudprep.extraction.properties import PROPERTY_COLUMNS
from fraudprep.extraction.stats import ChunkStats
from fraudprep.extraction.store import BatchAccumulator, BatchRecord, ShardAccumulator, stored_shape
from fraudprep.inputs.chunks import CHUNK_COLUMNS, Chunk
from fraudprep.run.settings import ModelSettings

BATCH_RECORDS = ".batches.jsonl"  # scratch only: removed once chunk.json is written


@dataclass
class ChunkFiles:
    """One model's open outputs of a chunk job, all in its scratch directory."""

    scratch: Path
    batches: BatchAccumulator | ShardAccumulator
    failures: Any  # a csv writer
    properties: Any  # a csv writer
    augmented: BatchAccumulator | ShardAccumulator | None = None  # the copies' batches
    copy_failures: Any = None  # a csv writer, with augmented copies


def open_chunk_files(
    stack: contextlib.ExitStack,
    scratch: Path,
    settings: ModelSettings,
    feature_shape: tuple[int, ...],
    chunk_id: str,
    augmented: bool = False,
) -> ChunkFiles:
    """The files of one model's chunk, open on ``stack``; ``augmented`` adds the copies'
    batches and their failures. Failures and batch records go to files as they happen:
    nothing in the job grows with the chunk but its statistics' counters."""
    failed = stack.enter_context(
        atomic_write(scratch / FAILURES, "w", newline="", encoding="utf-8")
    )
    records_path = scratch / BATCH_RECORDS
    records = stack.enter_context(open(records_path, "w", encoding="utf-8"))  # noqa: SIM115
    failures = csv.writer(failed, lineterminator="\n")
    failures.writerow(FAILURE_COLUMNS)
    properties_file = stack.enter_context(
        atomic_write(scratch / PROPERTIES, "w", newline="", encoding="utf-8")
    )
    properties = csv.writer(properties_file, lineterminator="\n")
    properties.writerow(PROPERTY_COLUMNS)

    storage = storage_format(settings.storage_format)
    shape = stored_shape(feature_shape, storage)

    def on_written(record: BatchRecord) -> None:
        records.write(json.dumps(record.as_dict()) + "\n")

    def accumulator(prefix: str) -> BatchAccumulator | ShardAccumulator:
        if storage.streams_samples:
            assert settings.shard_samples is not None and settings.shard_mb is not None
            shards = ShardAccumulator(
                scratch, shape, settings.profile.dtype, settings.shard_samples,
                int(settings.shard_mb * 2**20), key_prefix=f"{chunk_id}-{prefix}",
                on_written=on_written, stem_prefix=prefix,
            )  # fmt: skip
            stack.callback(shards.abandon)  # a no-op once the job has flushed it
            return shards
        return BatchAccumulator(
            scratch, settings.batch_size, shape, storage, settings.profile.dtype,
            on_written=on_written, stem_prefix=prefix,
        )  # fmt: skip

    files = ChunkFiles(scratch, accumulator("batch"), failures, properties)
    if augmented:
        files.augmented = accumulator("aug_batch")
        copy_failures = stack.enter_context(
            atomic_write(scratch / COPY_FAILURES, "w", newline="", encoding="utf-8")
        )
        files.copy_failures = csv.writer(copy_failures, lineterminator="\n")
        files.copy_failures.writerow(COPY_FAILURE_COLUMNS)
    return files


def write_chunk_metadata(
    scratch: Path, chunk: Chunk, settings: ModelSettings, stats: ChunkStats
) -> None:
    """``chunk.json``: the chunk, its settings, its batches (copied from the records file
    line by line, never all in memory) and its statistics; the records file is then removed."""
    records_path = scratch / BATCH_RECORDS
    head = {
        # The field names of chunks.csv's columns, whatever the tuple's own are.
        "chunk": dict(zip(CHUNK_COLUMNS, chunk, strict=True)),
        "settings": settings.as_dict(),
        "feature_shape": list(settings.profile.output_shape),
    }
    with (
        atomic_write(scratch / CHUNK_METADATA, "w", encoding="utf-8") as handle,
        open(records_path) as records,
    ):
        handle.write("{\n")
        for key, value in head.items():
            handle.write(f" {json.dumps(key)}: {json.dumps(value)},\n")
        handle.write(' "batches": [')
        for index, line in enumerate(records):
            handle.write(("," if index else "") + "\n  " + line.rstrip("\n"))
        handle.write('\n ],\n "stats": ' + json.dumps(stats.to_json()) + "\n}\n")
    records_path.unlink()


def share_outputs(
    original: Path, twin: Path, settings: ModelSettings, original_settings: ModelSettings
) -> None:
    """The twin's chunk outputs as hard links to the original's (no extra disk), with its
    own chunk.json: the same batches and statistics under its settings."""
    for path in original.iterdir():
        if path.name != CHUNK_METADATA:
            link_or_copy(path, twin / path.name)
    metadata = read_chunk_metadata(original)
    metadata["settings"] = settings.as_dict()
    metadata["shared_with"] = original_settings.model
    with atomic_write(twin / CHUNK_METADATA, "w", encoding="utf-8") as handle:
        json.dump(metadata, handle, indent=1)
