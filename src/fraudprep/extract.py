"""One extraction job: stream a chunk's files into batch files, failures and partial stats.

Memory is one decoded file plus one batch of features: the chunk's files are read from the
manifest one row at a time and each batch is written the moment it is full. The job's
outputs are built in a scratch directory and renamed into place at the end, so a killed job
leaves nothing a rerun would trust.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.atomic import OutputWriteError, atomic_write, fresh_partial_dir, publish_dir
from fraudprep.audio_io import AudioError, load_mono
from fraudprep.chunks import Chunk, find_chunk
from fraudprep.features import Extractor, distinct_values, make_extractor
from fraudprep.logs import Progress
from fraudprep.manifest import ManifestRow, iter_manifest
from fraudprep.memory import (
    check_system_memory,
    log_memory,
    peak_rss_mb,
    reuse_freed_memory,
    rss_mb,
)
from fraudprep.profiles import ModelSettings
from fraudprep.stats import ChunkStats
from fraudprep.store import BatchAccumulator, storage_format

log = logging.getLogger(__name__)

CHUNK_METADATA = "chunk.json"
CHUNK_FAILURES = "failures.csv"
BATCH_RECORDS = ".batches.jsonl"  # scratch only: removed once chunk.json is written
FAILURE_COLUMNS = ("path", "split", "label", "reason")


@dataclass(frozen=True)
class ReadLimits:
    """How much of each file is read, and the shortest file accepted."""

    min_duration: float = 0.0
    # Trimming only needs the start of a long recording; reading all of an hour-long file
    # would make memory depend on the input. Read at most this much.
    max_input_seconds: float = 60.0


def features_for(row: ManifestRow, extractor: Extractor, limits: ReadLimits):
    """Decode one file and compute its features; raise AudioError with the reason if not."""
    audio = load_mono(
        row.path, extractor.profile.sample_rate, limits.max_input_seconds, limits.min_duration
    )
    features = extractor(audio.samples)
    if not np.isfinite(distinct_values(features)).all():
        raise AudioError("features are not finite")
    return audio, features


def extract_chunk(
    manifest_path: str | Path,
    chunk: Chunk,
    settings: ModelSettings,
    output_dir: str | Path,
    limits: ReadLimits = ReadLimits(),
) -> ChunkStats:
    """Extract ``chunk``'s rows of the manifest into ``output_dir`` (batches + metadata)."""
    reuse_freed_memory()
    log.info("Initial memory usage: %.2f MB", rss_mb())
    log.info(
        "%s: %d files, model %s, batch size %d, memory mode %s",
        chunk.chunk,
        chunk.size,
        settings.model,
        settings.batch_size,
        settings.memory_mode,
    )
    scratch = fresh_partial_dir(output_dir)
    try:
        stats = _extract_into(scratch, manifest_path, chunk, settings, limits)
        publish_dir(scratch, output_dir)
    except OSError as error:
        raise OutputWriteError.from_os_error(error, output_dir) from error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log_memory(f"after {chunk.chunk}")
    log.info("Peak memory usage: %.2f MB", peak_rss_mb())
    return stats


def _extract_into(
    scratch: Path,
    manifest_path: str | Path,
    chunk: Chunk,
    settings: ModelSettings,
    limits: ReadLimits,
) -> ChunkStats:
    extractor = make_extractor(settings.profile)
    stats = ChunkStats()
    records_path = scratch / BATCH_RECORDS
    # Failures and batch records go to files as they happen: nothing in this job grows with
    # the chunk but its statistics' counters.
    with (
        atomic_write(scratch / CHUNK_FAILURES, "w", newline="", encoding="utf-8") as failed,
        open(records_path, "w", encoding="utf-8") as records,
    ):
        failures = csv.writer(failed, lineterminator="\n")
        failures.writerow(FAILURE_COLUMNS)
        batches = BatchAccumulator(
            scratch,
            settings.batch_size,
            extractor.output_shape,
            storage_format(settings.storage_format),
            settings.profile.dtype,
            on_written=lambda record: records.write(json.dumps(asdict(record)) + "\n"),
        )
        rows = iter_manifest(manifest_path, chunk.start, chunk.stop)
        done = _extract_rows(rows, extractor, limits, batches, failures, stats, chunk)
    _check_accounting(chunk, stats, done)
    _write_chunk_metadata(scratch / CHUNK_METADATA, chunk, settings, records_path, stats)
    records_path.unlink()
    log.info(
        "%s: %d samples in %d batches, %d failed",
        chunk.chunk,
        sum(stats.samples.values()),
        batches.written,
        sum(stats.failures.values()),
    )
    return stats


def _extract_rows(
    rows: Iterable[ManifestRow],
    extractor: Extractor,
    limits: ReadLimits,
    batches: BatchAccumulator,
    failures: Any,  # a csv writer
    stats: ChunkStats,
    chunk: Chunk,
) -> int:
    """Each row becomes a sample in ``batches`` or a row in ``failures``; return rows read."""
    progress, done = Progress(chunk.chunk, chunk.size), 0
    for done, row in enumerate(rows, start=1):
        batches.start_split(row.split)
        try:
            audio, features = features_for(row, extractor, limits)
        except Exception as error:  # one bad file must never stop the chunk
            reason = (
                str(error)
                if isinstance(error, AudioError)
                else (f"unexpected error: {type(error).__name__}: {error}")
            )
            log.warning("Failed %s: %s", row.path, reason)
            failures.writerow((row.path, row.split, row.label, reason))
            stats.add_failure(row.split, row.label)
        else:
            stats.add_sample(
                row.split,
                row.label,
                audio.original_sample_rate,
                audio.channels,
                audio.duration,
                features,
                row.attack,
                audio.decoder,
                audio.format,
            )
            if batches.add(features, row.label, row.path):
                check_system_memory()
        progress.tick(done)
    batches.flush()
    return done


def _check_accounting(chunk: Chunk, stats: ChunkStats, rows_read: int) -> None:
    accounted = sum(stats.samples.values()) + sum(stats.failures.values())
    if rows_read != chunk.size or accounted != chunk.size:
        raise RuntimeError(
            f"{chunk.chunk}: expected {chunk.size} manifest rows, read {rows_read}, accounted "
            f"for {accounted}; the manifest changed under the job; rerun the workflow"
        )


def _write_chunk_metadata(
    path: Path, chunk: Chunk, settings: ModelSettings, records_path: Path, stats: ChunkStats
) -> None:
    """``chunk.json``: the chunk, its settings, its batches (copied from the records file
    line by line, never all in memory) and its statistics."""
    head = {
        "chunk": chunk._asdict(),
        "settings": settings.as_dict(),
        "feature_shape": list(settings.profile.output_shape),
    }
    with atomic_write(path, "w", encoding="utf-8") as handle, open(records_path) as records:
        handle.write("{\n")
        for key, value in head.items():
            handle.write(f" {json.dumps(key)}: {json.dumps(value)},\n")
        handle.write(' "batches": [')
        for index, line in enumerate(records):
            handle.write(("," if index else "") + "\n  " + line.rstrip("\n"))
        handle.write('\n ],\n "stats": ' + json.dumps(stats.to_json()) + "\n}\n")


def read_chunk_metadata(chunk_dir: str | Path) -> dict:
    with open(Path(chunk_dir) / CHUNK_METADATA, encoding="utf-8") as handle:
        return json.load(handle)


def run_extraction_job(
    manifest_path: str,
    chunks_path: str,
    settings_path: str,
    chunk_id: str,
    output_dir: str,
    min_duration: float,
    max_input_seconds: float,
) -> ChunkStats:
    """The ``extract_features`` rule's entry point: everything from file paths."""
    with open(settings_path, encoding="utf-8") as handle:
        settings = ModelSettings.from_dict(json.load(handle))
    chunk = find_chunk(chunks_path, chunk_id)
    limits = ReadLimits(min_duration=min_duration, max_input_seconds=max_input_seconds)
    return extract_chunk(manifest_path, chunk, settings, output_dir, limits)
