"""Batches being filled: samples go into one preallocated buffer, written the moment it is full.

How a batch is laid out on disk is the storage format's business (:mod:`fraudprep.base.formats`);
this module only decides what goes into a batch and when it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.formats import FORMATS, ChecksumWriter, StorageFormat, TarWriter

log = logging.getLogger(__name__)

# Waveforms in [-1, 1] are stored as int16 at this scale (half the disk of float32).
INT16_SCALE = 32767
# Mel images in [0, 1] are stored as uint8 at this scale: the error is at most 0.5 / 255.
UINT8_SCALE = 255
# What each stored integer dtype is divided by to give the features back.
_INTEGER_SCALES = {np.dtype(np.int16): INT16_SCALE, np.dtype(np.uint8): UINT8_SCALE}


def as_float32(data: np.ndarray) -> np.ndarray:
    """Stored features as float32: int16 waveforms and uint8 images scaled back, float16
    widened, float32 as is."""
    scale = _INTEGER_SCALES.get(data.dtype)
    if scale is not None:
        return data.astype(np.float32) / np.float32(scale)
    if data.dtype != np.float32:
        return data.astype(np.float32)
    return data


def is_compact(data: np.ndarray) -> bool:
    """Stored in a dtype only the disk wants (float16, uint8): the loader widens it."""
    return data.dtype in (np.float16, np.uint8)


def stored_shape(feature_shape: tuple[int, ...], storage: StorageFormat) -> tuple[int, ...]:
    """The shape a sample is stored in: channels-last images as one plane, where the format
    keeps one channel (their channels are copies of one another)."""
    if storage.one_channel_images and len(feature_shape) == 3:
        return feature_shape[:2]
    return feature_shape


def to_storage_dtype(features: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Features as stored: float32 as is; waveforms in [-1, 1] as int16 and images in [0, 1]
    as uint8, rounded to the nearest step; float16 by the copy into the batch."""
    if features.ndim == 3 and features.strides[-1] == 0:  # one plane broadcast to channels
        plane = to_storage_dtype(features[..., 0], dtype)
        return np.broadcast_to(plane[..., None], features.shape)
    scale = _INTEGER_SCALES.get(np.dtype(dtype))
    if scale is None:
        return features
    info = np.iinfo(dtype)
    return np.clip(np.rint(features * scale), info.min, info.max)


def one_plane(features: np.ndarray, ndim: int) -> np.ndarray:
    """An image's first channel where it is stored with ``ndim`` axes, one fewer than it has
    (its channels are copies of one another); other features as they are."""
    return features[..., 0] if features.ndim == ndim + 1 else features


def to_stored(features: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """One sample as stored: one channel where ``shape`` has none, in ``dtype``."""
    features = one_plane(features, len(shape))
    return to_storage_dtype(features, dtype).astype(dtype, copy=False)


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
    # Per file of the batch (in the format's suffix order): bytes and checksum, so that a
    # reader can tell a damaged or truncated file from a good one.
    file_bytes: list[int] = field(default_factory=list)
    checksums: list[str] = field(default_factory=list)
    # Batches with a sample that has segment labels (PartialSpoof's) only: per sample, its
    # labels (one digit per segment, 0 real, 1 fake) and seconds per segment; None where none.
    segment_labels: list[str | None] | None = None
    segment_resolutions: list[float | None] | None = None

    def as_dict(self) -> dict[str, Any]:
        """For chunk.json: without the augmentations of clean batches, which have none, nor
        segment labels where no sample has any (so written as before either existed)."""
        values = asdict(self)
        for late in ("augmentations", "segment_labels", "segment_resolutions"):
            if values[late] is None:
                del values[late]
        return values


class _SegmentLists:
    """Per-sample segment labels of the batch being filled, kept only once one has some."""

    def __init__(self) -> None:
        self.labels: list[str | None] = []
        self.resolutions: list[float | None] = []
        self.any = False

    def add(self, extras: Mapping[str, Any] | None) -> None:
        labels = (extras or {}).get("segment_labels")
        self.labels.append(labels)
        self.resolutions.append((extras or {}).get("segment_resolution"))
        self.any = self.any or labels is not None

    def into(self, record: BatchRecord) -> None:
        if self.any:
            record.segment_labels = list(self.labels)
            record.segment_resolutions = list(self.resolutions)

    def clear(self) -> None:
        self.labels.clear()
        self.resolutions.clear()
        self.any = False


class SplitSink:
    """What batches and shards share: samples come split by split, and what is being filled
    is written when the split changes, so no file ever mixes splits."""

    split: str

    def start_split(self, split: str) -> None:
        """Samples of ``split`` come next: what is being filled is written first, shorter if
        need be."""
        if split != self.split:
            self.flush()
            self.split = split

    def flush(self) -> BatchRecord | None:
        raise NotImplementedError


@dataclass
class BatchAccumulator(SplitSink):
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
        self._segments = _SegmentLists()

    def add(
        self, features: np.ndarray, label: int, source_file: str, speaker: str = "",
        attack: str = "", augmentation: dict[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> BatchRecord | None:  # fmt: skip
        """Add one sample; return the batch record if this sample completed a batch.
        ``augmentation``: what made an augmented copy (all samples of a batch have one, or
        none do). ``extras``: the sample's segment labels, if any (its corpus is not kept
        here: aggregation finds it in the manifest)."""
        slot = self._data[len(self._labels)]
        features = one_plane(features, slot.ndim)
        _copy_sample(slot, to_storage_dtype(features, self._data.dtype))
        self._labels.append(label)
        self._sources.append(source_file)
        self._speakers.append(speaker)
        self._attacks.append(attack)
        if augmentation is not None:
            self._augmentations.append(augmentation)
        self._segments.add(extras)
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
        digests = self.storage.write_batch(
            self.directory, stem, self._data[:count], labels, list(self._sources)
        )
        record = BatchRecord(
            stem, count, list(self._labels), list(self._sources),
            sum(size for size, _ in digests), self.split,
            list(self._speakers), list(self._attacks),
            list(self._augmentations) if self._augmentations else None,
            [size for size, _ in digests], [checksum for _, checksum in digests],
        )  # fmt: skip
        self._segments.into(record)
        if self.on_written is not None:
            self.on_written(record)
        log.info("Saved batch %d with %d samples", self.written, count)
        self.written += 1
        self._labels.clear()
        self._sources.clear()
        self._speakers.clear()
        self._attacks.clear()
        self._augmentations.clear()
        self._segments.clear()
        return record


@dataclass
class ShardAccumulator(SplitSink):
    """Writes samples into tar shards as they come: a shard is closed (and reported, as a
    batch is) at ``max_samples`` samples or ``max_bytes`` bytes, or when the split changes.

    Memory is one sample and the shard's per-sample records, whatever the shard's size.
    Keys are ``<key_prefix>-<n>``, n counting this accumulator's samples: unique within the
    run, and the same on every run.
    """

    directory: Path
    sample_shape: tuple[int, ...]  # as stored
    dtype: str
    max_samples: int
    max_bytes: int
    key_prefix: str
    on_written: Callable[[BatchRecord], None] | None = None
    written: int = 0  # shards closed so far
    split: str = ""
    stem_prefix: str = "shard"

    def __post_init__(self) -> None:
        self._tar: TarWriter | None = None
        self._samples = 0  # in this accumulator, for keys
        self._record: BatchRecord | None = None
        self._segments = _SegmentLists()

    def add(
        self, features: np.ndarray, label: int, source_file: str, speaker: str = "",
        attack: str = "", augmentation: dict[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> BatchRecord | None:  # fmt: skip
        """Add one sample to the shard being filled; return the shard's record if this sample
        closed it. ``extras`` (the sample's ``corpus`` and segment labels, where it has them)
        go into the sample's .json record as they are."""
        array = to_stored(features, self.sample_shape, np.dtype(self.dtype))
        if array.shape != self.sample_shape:
            raise ValueError(f"a sample of shape {array.shape}, not {self.sample_shape}")
        record, tar = self._open_shard()
        key = f"{self.key_prefix}-{self._samples:06d}"
        self._samples += 1
        info = {"label": label, "path": source_file, "speaker": speaker, "attack": attack,
                "split": self.split}  # fmt: skip
        if augmentation is not None:
            info["augmentation"] = augmentation
            record.augmentations = [*(record.augmentations or []), augmentation]
        if extras:
            info.update(extras)
        self._segments.add(extras)
        tar.add_sample(key, array, info)
        record.num_samples += 1
        record.labels.append(label)
        record.source_files.append(source_file)
        record.speakers.append(speaker)
        record.attacks.append(attack)
        if record.num_samples >= self.max_samples or tar.bytes >= self.max_bytes:
            return self.flush()
        return None

    def _open_shard(self) -> tuple[BatchRecord, TarWriter]:
        if self._tar is None or self._record is None:
            stem = f"{self.stem_prefix}_{self.written:05d}"
            # In the job's scratch directory, published whole: no file of its own aside.
            self._file = open(self.directory / f"{stem}.tar", "wb")  # noqa: SIM115 (flush)
            self._checked = ChecksumWriter(self._file)
            self._tar = TarWriter(self._checked)
            self._record = BatchRecord(stem, 0, [], [], 0, self.split, [], [], None)
        return self._record, self._tar

    def abandon(self) -> None:
        """Close the shard being filled without ending it, when the job stops on an error:
        the scratch directory it is in is removed, and an open file would keep its disk busy."""
        if self._tar is not None:
            self._file.close()
            self._tar = self._record = None

    def flush(self) -> BatchRecord | None:
        """Close the shard being filled; nothing if none is open."""
        if self._tar is None or self._record is None:
            return None
        record, self._record = self._record, None
        self._segments.into(record)
        self._segments.clear()
        self._tar.finish()
        self._file.close()  # not synced: its size and checksum are recorded (atomic_write)
        size, checksum = self._checked.digest()
        record.bytes, record.file_bytes, record.checksums = size, [size], [checksum]
        self._tar = None
        if self.on_written is not None:
            self.on_written(record)
        log.info("Saved shard %d with %d samples", self.written, record.num_samples)
        self.written += 1
        return record
