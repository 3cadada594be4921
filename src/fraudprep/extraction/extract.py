"""One extraction job: stream a chunk's files into every model's batch files, failures and
partial stats.

Memory is one decoded file plus one batch of features per model: the chunk's files are read
from the manifest one row at a time and each batch is written the moment it is full. The job's
outputs are built in a scratch directory and renamed into place at the end, so a killed job
leaves nothing a rerun would trust. The files themselves (opened with their headers, closed
into chunk.json, linked for a twin) are :mod:`fraudprep.extraction.chunk_files`'s business;
this module decides what goes into them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import logging
import shutil
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.atomic import OutputWriteError, fresh_partial_dir, publish_dir
from fraudprep.base.logs import Progress
from fraudprep.base.memory import (
    check_system_memory,
    log_memory,
    peak_rss_mb,
    reuse_freed_memory,
    rss_mb,
)
from fraudprep.extraction.audio_io import AudioError, DecodedAudio, decode_mono, resample
from fraudprep.extraction.augment import AugmentationPlan, augment
from fraudprep.extraction.chunk_files import (
    ChunkFiles,
    open_chunk_files,
    share_outputs,
    write_chunk_metadata,
)
from fraudprep.extraction.features import Extracted, Extractor, distinct_values, make_extractor
from fraudprep.extraction.properties import (
    SignalLevels,
    TrimmedShape,
    bandwidth,
    bandwidth_of_spectrum,
    file_properties,
    signal_levels,
    trimmed_shape,
)
from fraudprep.extraction.stats import ChunkStats
from fraudprep.inputs.chunks import Chunk, find_chunk
from fraudprep.inputs.manifest import (
    ManifestRow,
    SegmentLabels,
    augmented_split,
    iter_manifest,
    iter_segments,
)
from fraudprep.run.settings import ModelSettings, read_settings, twins

log = logging.getLogger(__name__)

FLOAT16_MAX = float(np.finfo(np.float16).max)


@dataclass(frozen=True)
class ReadLimits:
    """How much of each file is read, and the shortest file accepted."""

    min_duration: float = 0.0
    # Trimming only needs the start of a long recording; reading all of an hour-long file
    # would make memory depend on the input. Read at most this much.
    max_input_seconds: float = 60.0


# Errors that are the job's, not the file's: an output that cannot be written (a full or
# read-only disk) stops the job with its one line, instead of failing this file and, the
# batch never emptied, every file after it. A tar shard's write raises the OS error itself.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _is_job_error(error: Exception) -> bool:
    return isinstance(error, OutputWriteError) or (
        isinstance(error, OSError) and error.errno in DISK_ERRNOS
    )


def _failure_reason(error: Exception) -> str:
    if isinstance(error, AudioError):
        return str(error)
    return f"unexpected error: {type(error).__name__}: {error}"


@dataclass
class _Measured:
    """One file's properties at one rate and trim threshold, for every model that shares
    them: levels and silence measured before the features, the cells formatted once per
    source of the bandwidth. A model's row is the same as in a job of its own."""

    levels: SignalLevels
    shape: TrimmedShape
    # By the bandwidth's source (_ModelPart.bandwidth_source): models whose features are
    # computed from the same spectrum share it; the others measure it apart.
    cells: dict[Hashable, list[int | str]] = dataclasses.field(default_factory=dict)


@dataclass
class _ModelPart:
    """One model's share of a chunk job: its features, batches, failures and statistics, all
    written into the model's own scratch directory."""

    settings: ModelSettings
    extractor: Extractor
    files: ChunkFiles
    stats: ChunkStats = dataclasses.field(default_factory=ChunkStats)
    failed: int = 0  # this model's failed files so far, for the progress lines
    # What the file being extracted carries besides its manifest row's label, path, speaker
    # and attack (its corpus, its segment labels): set for each row (see _sample_extras).
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add_copy(self, row: ManifestRow, audio: DecodedAudio, augmentation: dict) -> None:
        """One augmented copy into the copies' batches: features only, no statistics (they
        describe the clean data: normalisation, counts, shortcuts)."""
        augmented = self.files.augmented
        assert augmented is not None
        features = self._features(audio)
        augmented.start_split(augmented_split(row.split))
        augmented.add(
            features, row.label, row.path, row.speaker, row.attack, augmentation=augmentation,
            extras=self.extras,
        )  # fmt: skip

    def _features(self, audio: DecodedAudio) -> np.ndarray:
        return self._extracted(audio).features

    def _extracted(self, audio: DecodedAudio, with_spectrum: bool = False) -> Extracted:
        extracted = self.extractor.extract(audio.samples, with_spectrum)
        values = distinct_values(extracted.features)
        if not np.isfinite(values).all():
            raise AudioError("features are not finite")
        if self.settings.profile.dtype == "float16" and np.abs(values).max() > FLOAT16_MAX:
            # Stored, they would be infinite: a failure, not a silent inf in a batch.
            raise AudioError(
                f"features reach {np.abs(values).max():.4g}, beyond float16's {FLOAT16_MAX:g}; "
                "store this model as float32 (dtype)"
            )
        return extracted

    @functools.cached_property
    def reads_bandwidth_off_features(self) -> bool:
        """From the features' own spectrum where they have one; measured apart where they
        have none or where it is band-limited (the property describes the audio before)."""
        return self.extractor.spectrum_key is not None and self.settings.profile.lowpass_hz is None

    @functools.cached_property
    def bandwidth_source(self) -> Hashable:
        if self.reads_bandwidth_off_features:
            return self.extractor.spectrum_key
        return ("measured apart", self.settings.profile.sample_rate)

    def _bandwidth(self, audio: DecodedAudio, spectrum: np.ndarray | None) -> float:
        rate = self.settings.profile.sample_rate
        if spectrum is None:
            return bandwidth(audio.samples, rate)
        return bandwidth_of_spectrum(spectrum, rate)

    def fail_copy(self, row: ManifestRow, index: int, reason: str) -> None:
        self.files.copy_failures.writerow(
            (row.path, augmented_split(row.split), row.label, index, reason)
        )

    def fail(self, row: ManifestRow, reason: str) -> None:
        self.files.failures.writerow((row.path, row.split, row.label, reason))
        self.stats.add_failure(row.split, row.label)
        self.failed += 1

    def add(self, row: ManifestRow, audio: DecodedAudio, measured: _Measured) -> None:
        """Features of one decoded file into this model's batch, its properties into the
        properties table; a failure if the features are not finite."""
        first_of_source = self.bandwidth_source not in measured.cells
        with_spectrum = first_of_source and self.reads_bandwidth_off_features
        extracted = self._extracted(audio, with_spectrum)
        features = extracted.features
        self.stats.add_sample(
            row.split,
            row.label,
            audio.original_sample_rate,
            audio.channels,
            audio.duration,
            features,
            row.attack,
            audio.decoder,
            audio.format,
            audio.overs,
        )
        if first_of_source:
            bandwidth_hz = self._bandwidth(audio, extracted.spectrum)
            measured.cells[self.bandwidth_source] = file_properties(
                row.size, audio, measured.levels, measured.shape, bandwidth_hz
            )
        cells = measured.cells[self.bandwidth_source]
        self.files.properties.writerow([row.path, row.split, row.label, *cells])
        batches = self.files.batches
        if batches.add(features, row.label, row.path, row.speaker, row.attack, extras=self.extras):
            check_system_memory()


def extract_chunk(
    manifest_path: str | Path,
    chunk: Chunk,
    settings: ModelSettings,
    output_dir: str | Path,
    limits: ReadLimits = ReadLimits(),
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
    limits: ReadLimits = ReadLimits(),
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
) -> _ModelPart:
    extractor = make_extractor(settings.profile)
    files = open_chunk_files(stack, scratch, settings, extractor.output_shape, chunk_id, augmented)
    return _ModelPart(settings, extractor, files)


def _extract_rows(
    rows: Iterable[ManifestRow],
    parts: Sequence[_ModelPart],
    limits: ReadLimits,
    chunk: Chunk,
    plan: AugmentationPlan | None = None,
    segments: Mapping[int, SegmentLabels] | None = None,
) -> int:
    """Each row becomes a sample in a model's batches or a row in its failures; return the
    rows read. A file that cannot be decoded is a failure for every model. ``segments``: the
    segment labels of the chunk's rows that have them, by manifest row."""
    progress, done, failed = Progress(chunk.id, chunk.size), 0, 0
    for done, row in enumerate(rows, start=1):
        failed_before = sum(part.failed for part in parts)
        extras = _sample_extras(row, (segments or {}).get(chunk.start + done - 1))
        for part in parts:
            part.files.batches.start_split(row.split)
            part.extras = extras
        try:
            decoded = decode_mono(row.path, limits.max_input_seconds, limits.min_duration)
        except Exception as error:  # one bad file must never stop the chunk
            reason = _failure_reason(error)
            log.warning("Failed %s: %s", row.path, reason)
            for part in parts:
                part.fail(row, reason)
        else:
            at_rate: dict[int, DecodedAudio] = {}  # resampled once per rate, for this file only
            _add_to_every_model(row, decoded, parts, at_rate)
            if plan is not None and row.split in plan.splits:
                _add_copies(row, decoded, parts, plan, at_rate)
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


def _resampled(decoded: DecodedAudio, rate: int, at_rate: dict[int, DecodedAudio]) -> DecodedAudio:
    """``decoded`` at ``rate``, resampled the first time a model or a copy asks for it."""
    if rate not in at_rate:
        at_rate[rate] = resample(decoded, rate)
    return at_rate[rate]


def _add_copies(
    row: ManifestRow,
    decoded: DecodedAudio,
    parts: Sequence[_ModelPart],
    plan: AugmentationPlan,
    at_rate: dict[int, DecodedAudio],
) -> None:
    """The file's augmented copies into every model's copy batches. Each copy is made from the
    clean decode at the model's rate (once per rate, shared by the models at it), as RawBoost
    and the codecs of phone and upload channels run on 8-16 kHz speech: a 48 kHz file's copy
    would cost three times the time and memory. A copy that fails goes to the model's copy
    failures: the file itself is a sample."""
    for index in range(plan.copies):
        made: dict[int, tuple[DecodedAudio, dict] | str] = {}
        for part in parts:
            rate = part.settings.profile.sample_rate
            if rate not in made:
                made[rate] = _made_copy(row, decoded, rate, plan, index, at_rate)
            copy = made[rate]
            try:
                if isinstance(copy, str):
                    raise AudioError(copy)
                part.add_copy(row, *copy)
            except Exception as error:  # one copy must never stop the chunk
                if _is_job_error(error):
                    raise
                reason = _failure_reason(error)
                log.warning("Augmented copy %d of %s failed: %s", index, row.path, reason)
                part.fail_copy(row, index, reason)


def _made_copy(
    row: ManifestRow,
    decoded: DecodedAudio,
    rate: int,
    plan: AugmentationPlan,
    index: int,
    at_rate: dict[int, DecodedAudio],
) -> tuple[DecodedAudio, dict] | str:
    """Copy ``index`` of the file at ``rate`` and what was drawn for it, or why it failed."""
    try:
        clean = _resampled(decoded, rate, at_rate)
        entry, rng = plan.draw(row.hash or row.path, index)
        samples, drawn = augment(clean.samples, rate, entry, rng)
    except Exception as error:
        return _failure_reason(error)
    return dataclasses.replace(clean, samples=samples), {"copy": index, **drawn}


def _add_to_every_model(
    row: ManifestRow,
    decoded: DecodedAudio,
    parts: Sequence[_ModelPart],
    at_rate: dict[int, DecodedAudio],
) -> None:
    measured: dict[tuple[int, float | None], _Measured] = {}
    for part in parts:
        rate, top_db = part.settings.profile.sample_rate, part.settings.profile.trim_top_db
        try:
            audio = _resampled(decoded, rate, at_rate)
            if (rate, top_db) not in measured:
                # One energy scan per rate serves both, and the features' trimming after.
                shape = trimmed_shape(audio.samples, rate, top_db)
                measured[rate, top_db] = _Measured(signal_levels(audio.samples), shape)
            part.add(row, audio, measured[rate, top_db])
        except Exception as error:  # a model's failure is that model's alone
            if _is_job_error(error):
                raise
            reason = _failure_reason(error)
            log.warning("Failed %s for %s: %s", row.path, part.settings.model, reason)
            part.fail(row, reason)


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
