"""Batches being filled: samples go into one preallocated buffer, written the moment it is full.

How a batch is laid out on disk is the storage format's business (:mod:`fraudprep.formats`);
this module only decides what goes into a batch and when it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.formats import FORMATS, StorageFormat

log = logging.getLogger(__name__)

# Waveforms in [-1, 1] are stored as int16 at this scale (half the disk of float32).
INT16_SCALE = 32767


def as_float32(data: np.ndarray) -> np.ndarray:
    """Stored features as float32: int16 waveforms scaled back to [-1, 1], float32 as is."""
    if data.dtype == np.int16:
        return data.astype(np.float32) / np.float32(INT16_SCALE)
    return data


def to_storage_dtype(features: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Features as stored: float32 as is; waveforms in [-1, 1] as int16 (half the disk)."""
    if dtype == np.int16:
        return np.clip(np.rint(features * INT16_SCALE), -INT16_SCALE - 1, INT16_SCALE)
    return features


def _copy_sample(slot: np.ndarray, features: np.ndarray) -> None:
    """Copy one sample into its batch slot. A channels-last image whose channels are one
    broadcast plane is copied plane by plane: 2.5x faster than numpy's element-wise copy of
    a stride-0 axis of length 3."""
    if features.ndim == 3 and features.strides[-1] == 0:
        plane = features[..., 0]
        for channel in range(features.shape[-1]):
            slot[..., channel] = plane
    else:
        slot[...] = features


@dataclass
class BatchRecord:
    """What a written batch holds, for the metadata table."""

    stem: str
    num_samples: int
    labels: list[int]
    source_files: list[str]
    bytes: int
    split: str = ""  # every sample of a batch is of this split
    # Per sample, from the manifest: who speaks and which attack/system made a fake ("" when
    # unknown), so scores can be broken down without joining tables again.
    speakers: list[str] = field(default_factory=list)
    attacks: list[str] = field(default_factory=list)
    # Augmented copies only: per sample, the copy's index and the parameters drawn for it.
    augmentations: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """For chunk.json: without the augmentations of clean batches, which have none (and
        so are written as they were before copies existed)."""
        values = asdict(self)
        if values["augmentations"] is None:
            del values["augmentations"]
        return values


@dataclass
class BatchAccumulator:
    """Fills one preallocated batch buffer and writes it the moment it is full.

    Memory is one batch of features, whatever the chunk or dataset size.
    """

    directory: Path
    batch_size: int
    sample_shape: tuple[int, ...]
    storage: StorageFormat = FORMATS["pickle"]
    dtype: str = "float32"
    # Told about each batch once it is written; records are not kept here, so that memory
    # does not grow with the chunk.
    on_written: Callable[[BatchRecord], None] | None = None
    written: int = 0  # batches written so far
    split: str = ""  # the split of the samples being added (see start_split)
    stem_prefix: str = "batch"  # augmented copies are "aug_batch_…" beside the clean ones

    def __post_init__(self) -> None:
        self._data = np.zeros((self.batch_size, *self.sample_shape), dtype=np.dtype(self.dtype))
        self._labels: list[int] = []
        self._sources: list[str] = []
        self._speakers: list[str] = []
        self._attacks: list[str] = []
        self._augmentations: list[dict[str, Any]] = []

    def start_split(self, split: str) -> None:
        """Samples of ``split`` come next: a batch never mixes splits, so the one being
        filled is written first, shorter if need be."""
        if split != self.split:
            self.flush()
            self.split = split

    def add(
        self, features: np.ndarray, label: int, source_file: str, speaker: str = "",
        attack: str = "", augmentation: dict[str, Any] | None = None,
    ) -> BatchRecord | None:  # fmt: skip
        """Add one sample; return the batch record if this sample completed a batch.
        ``augmentation``: what made an augmented copy (all samples of a batch have one, or
        none do)."""
        _copy_sample(self._data[len(self._labels)], to_storage_dtype(features, self._data.dtype))
        self._labels.append(label)
        self._sources.append(source_file)
        self._speakers.append(speaker)
        self._attacks.append(attack)
        if augmentation is not None:
            self._augmentations.append(augmentation)
        if len(self._labels) == self.batch_size:
            return self.flush()
        return None

    def flush(self) -> BatchRecord | None:
        """Write whatever is buffered (a last, shorter batch); nothing if empty."""
        count = len(self._labels)
        if count == 0:
            return None
        stem = f"{self.stem_prefix}_{self.written:05d}"
        labels = np.asarray(self._labels, dtype=np.int64)
        size = self.storage.write_batch(
            self.directory, stem, self._data[:count], labels, list(self._sources)
        )
        record = BatchRecord(
            stem, count, list(self._labels), list(self._sources), size, self.split,
            list(self._speakers), list(self._attacks),
            list(self._augmentations) if self._augmentations else None,
        )  # fmt: skip
        if self.on_written is not None:
            self.on_written(record)
        log.info("Saved batch %d with %d samples", self.written, count)
        self.written += 1
        self._labels.clear()
        self._sources.clear()
        self._speakers.clear()
        self._attacks.clear()
        self._augmentations.clear()
        return record
