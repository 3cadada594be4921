"""One file of an extraction job, for every model of it: decoded once, resampled once per rate
the models ask for, its levels and silence measured once per rate and trim threshold, then each
model's features into its batches and its properties into its table (:class:`ModelPart`: one
model's share of the job), and its augmented copies. A file that cannot be decoded is a failure
for every model, a model's failure that model's alone, a copy's failure that copy's; an output
that cannot be written stops the job. The job around the rows is
:mod:`fraudprep.extraction.extract`'s.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fraudprep.base.atomic import OutputWriteError
from fraudprep.base.memory import check_system_memory
from fraudprep.extraction.audio_io import AudioError, DecodedAudio, decode_mono, resample
from fraudprep.extraction.augment import AugmentationPlan, augment
from fraudprep.extraction.chunk_files import ChunkFiles
from fraudprep.extraction.features import Extracted, Extractor, distinct_values
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
from fraudprep.inputs.manifest import ManifestRow, augmented_split
from fraudprep.run.settings import ModelSettings

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
    # By the bandwidth's source (ModelPart.bandwidth_source): models whose features are
    # computed from the same spectrum share it; the others measure it apart.
    cells: dict[Hashable, list[int | str]] = dataclasses.field(default_factory=dict)


@dataclass
class ModelPart:
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


def add_file(
    row: ManifestRow,
    parts: Sequence[ModelPart],
    limits: ReadLimits,
    plan: AugmentationPlan | None = None,
) -> None:
    """One manifest row's file into every model's batches, and its copies into their copy
    batches when ``plan`` covers its split; a file that cannot be decoded is a failure for
    every model."""
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


def _resampled(decoded: DecodedAudio, rate: int, at_rate: dict[int, DecodedAudio]) -> DecodedAudio:
    """``decoded`` at ``rate``, resampled the first time a model or a copy asks for it."""
    if rate not in at_rate:
        at_rate[rate] = resample(decoded, rate)
    return at_rate[rate]


def _add_copies(
    row: ManifestRow,
    decoded: DecodedAudio,
    parts: Sequence[ModelPart],
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
    parts: Sequence[ModelPart],
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
