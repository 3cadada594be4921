"""One extraction job: stream a chunk's files into every model's batch files, failures and
partial stats.

Memory is one decoded file plus one batch of features per model: the chunk's files are read
from the manifest one row at a time and each batch is written the moment it is full. The job's
outputs are built in a scratch directory and renamed into place at the end, so a killed job
leaves nothing a rerun would trust. The files themselves (opened with their headers, closed
into chunk.json, linked for a twin) are :mod:`fraudprep.extraction.chunk_files`'s business;
what each file becomes in them (features, properties, copies, failures) is
:mod:`fraudprep.extraction.per_file`'s; this module runs the job around the rows.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fraudprep.base.atomic import OutputWriteError, fresh_partial_dir, publish_dir
from fraudprep.base.logs import Progress
from fraudprep.base.memory import log_memory, peak_rss_mb, reuse_freed_memory, rss_mb
from fraudprep.extraction.augment import AugmentationPlan
from fraudprep.extraction.chunk_files import open_chunk_files, share_outputs, write_chunk_metadata
from fraudprep.extraction.features import make_extractor
from fraudprep.extraction.per_file import ModelPart, ReadLimits, add_file
from fraudprep.extraction.stats import ChunkStats
from fraudprep.inputs.chunks import Chunk, find_chunk
from fraudprep.inputs.manifest import ManifestRow, SegmentLabels, iter_manifest, iter_segments
from fraudprep.run.settings import ModelSettings, read_settings, twins

log = logging.getLogger(__name__)

DEFAULT_LIMITS = ReadLimits()  # frozen: one shared default


def extract_chunk(
    manifest_path: str | Path,
    chunk: Chunk,
    settings: ModelSettings,
    output_dir: str | Path,
    limits: ReadLimits = DEFAULT_LIMITS,
    plan: AugmentationPlan | None = None,
) -> ChunkStats:
    """Extract ``chunk``'s rows of the manifest into ``output_dir`` for one model."""
    stats = extract_chunk_models(manifest_path, chunk, [settings], [output_dir], limits, plan)
    return stats[settings.model]


def extract_chunk_models(
    manifest_path: str | Path,
    chunk: Chunk,
    models: Sequence[ModelSettings],
    output_dirs: Sequence[str | Path],
    limits: ReadLimits = DEFAULT_LIMITS,
    plan: AugmentationPlan | None = None,
) -> dict[str, ChunkStats]:
    """Extract ``chunk``'s rows for every model in ``models``, each into its output directory;
    with a ``plan``, also the augmented copies of the files of its splits.

    Each file is decoded once, resampled once per rate the models ask for, and turned into
    every model's features: decoding and resampling are the larger part of a file's cost, and
    were paid once per model when each model had its own jobs.
    """
    reuse_freed_memory()
    log.info("Initial memory usage: %.2f MB", rss_mb())
    for settings in models:
        log.info(
            "%s: %d files, model %s, batch size %d, memory mode %s",
            chunk.id,
            chunk.size,
            settings.model,
            settings.batch_size,
            settings.memory_mode,
        )
    scratches = [fresh_partial_dir(output_dir) for output_dir in output_dirs]
    twin_of = twins(models)
    computed = [i for i in range(len(models)) if i not in twin_of]
    try:
        stats = _extract_into(
            [scratches[i] for i in computed], manifest_path, chunk,
            [models[i] for i in computed], limits, plan,
        )  # fmt: skip
        for twin, original in twin_of.items():
            share_outputs(scratches[original], scratches[twin], models[twin], models[original])
            stats[models[twin].model] = stats[models[original].model]
        for scratch, output_dir in zip(scratches, output_dirs, strict=True):
            publish_dir(scratch, output_dir)
    except OSError as error:
        raise OutputWriteError.from_os_error(error, output_dirs[0]) from error
    finally:
        for scratch in scratches:
            shutil.rmtree(scratch, ignore_errors=True)
    log_memory(f"after {chunk.id}")
    log.info("Peak memory usage: %.2f MB", peak_rss_mb())
    return stats


def _extract_into(
    scratches: Sequence[Path],
    manifest_path: str | Path,
    chunk: Chunk,
    models: Sequence[ModelSettings],
    limits: ReadLimits,
    plan: AugmentationPlan | None = None,
) -> dict[str, ChunkStats]:
    with contextlib.ExitStack() as stack:
        parts = [
            _open_part(stack, scratch, settings, chunk.id, augmented=plan is not None)
            for scratch, settings in zip(scratches, models, strict=True)
        ]
        rows = iter_manifest(manifest_path, chunk.start, chunk.stop)
        segments = {s.row: s for s in iter_segments(manifest_path, chunk.start, chunk.stop)}
        done = _extract_rows(rows, parts, limits, chunk, plan, segments)
    for part in parts:
        _check_accounting(chunk, part.stats, done)
        write_chunk_metadata(part.files.scratch, chunk, part.settings, part.stats)
        log.info(
            "%s, %s: %d samples in %d batches, %d failed",
            chunk.id,
            part.settings.model,
            sum(part.stats.samples.values()),
            part.files.batches.written,
            sum(part.stats.failures.values()),
        )
    return {part.settings.model: part.stats for part in parts}


def _open_part(
    stack: contextlib.ExitStack,
    scratch: Path,
    settings: ModelSettings,
    chunk_id: str,
    augmented: bool = False,
) -> ModelPart:
    extractor = make_extractor(settings.profile)
    files = open_chunk_files(stack, scratch, settings, extractor.output_shape, chunk_id, augmented)
    return ModelPart(settings, extractor, files)


def _extract_rows(
    rows: Iterable[ManifestRow],
    parts: Sequence[ModelPart],
    limits: ReadLimits,
    chunk: Chunk,
    plan: AugmentationPlan | None = None,
    segments: Mapping[int, SegmentLabels] | None = None,
) -> int:
    """Each row becomes a sample in a model's batches or a row in its failures; return the
    rows read (each file's work: :func:`add_file`). ``segments``: the segment labels of the
    chunk's rows that have them, by manifest row."""
    progress, done, failed = Progress(chunk.id, chunk.size), 0, 0
    for done, row in enumerate(rows, start=1):
        failed_before = sum(part.failed for part in parts)
        extras = _sample_extras(row, (segments or {}).get(chunk.start + done - 1))
        for part in parts:
            part.files.batches.start_split(row.split)
            part.extras = extras
        add_file(row, parts, limits, plan)
        failed += sum(part.failed for part in parts) > failed_before  # for any model
        progress.tick(done, failed)
    for part in parts:
        part.files.batches.flush()
        if part.files.augmented is not None:
            part.files.augmented.flush()
    return done


def _sample_extras(row: ManifestRow, segments: SegmentLabels | None) -> dict[str, Any]:
    """What a sample carries besides its label, path, speaker and attack: its ``corpus`` in a
    manifest of several, and its segment labels where it has them; nothing for a single
    dataset without segment labels (its outputs are as they were)."""
    extras: dict[str, Any] = {}
    if row.corpus:
        extras["corpus"] = row.corpus
    if segments is not None:
        if segments.path != row.path:
            raise RuntimeError(
                f"segment labels of manifest row {segments.row} are {segments.path}'s, not "
                f"{row.path}'s: the manifest changed under the job; rerun the workflow"
            )
        extras["segment_labels"] = segments.labels
        extras["segment_resolution"] = segments.resolution
    return extras


def _check_accounting(chunk: Chunk, stats: ChunkStats, rows_read: int) -> None:
    accounted = sum(stats.samples.values()) + sum(stats.failures.values())
    if rows_read != chunk.size or accounted != chunk.size:
        raise RuntimeError(
            f"{chunk.id}: expected {chunk.size} manifest rows, read {rows_read}, accounted "
            f"for {accounted}; the manifest changed under the job; rerun the workflow"
        )


def run_extraction_job(
    manifest_path: str,
    chunks_path: str,
    settings_paths: Sequence[str],
    chunk_id: str,
    output_dirs: Sequence[str],
    min_duration: float,
    max_input_seconds: float,
    augmentation: dict[str, Any] | None = None,
) -> dict[str, ChunkStats]:
    """The ``extract_features`` rule's entry point: everything from file paths, one settings
    file and one output directory per model, and the config's ``augmentation`` block."""
    models = [read_settings(path) for path in settings_paths]
    chunk = find_chunk(chunks_path, chunk_id)
    limits = ReadLimits(min_duration=min_duration, max_input_seconds=max_input_seconds)
    plan = AugmentationPlan.from_config(augmentation)
    return extract_chunk_models(manifest_path, chunk, models, output_dirs, limits, plan)
