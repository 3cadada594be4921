"""Batch files: the seed's pickle layout, behind one small writer interface.

A batch file is a pickled dict ``{'data': float32 array (n, ...), 'labels': int64 array (n,),
'source_files': [paths]}``; the seed's loading snippet reads ``data`` and ``labels``. Callers
go through :class:`BatchAccumulator` and never touch the format, so another backend can be
added beside pickle without touching extraction.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.atomic import atomic_write

log = logging.getLogger(__name__)

# A fixed protocol keeps the bytes identical across Python versions that support it.
PICKLE_PROTOCOL = 5
BATCH_SUFFIX = ".pkl"


def write_pickle(path: str | Path, obj: Any) -> int:
    """Pickle ``obj`` to ``path`` atomically; return the bytes written."""
    with atomic_write(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=PICKLE_PROTOCOL)
        return handle.tell()


def read_pickle(path: str | Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


@dataclass
class BatchRecord:
    """What a written batch holds, for the metadata table."""

    name: str
    num_samples: int
    labels: list[int]
    source_files: list[str]
    bytes: int


@dataclass
class BatchAccumulator:
    """Fills one preallocated batch buffer and writes it the moment it is full.

    Memory is one batch of features, whatever the chunk or dataset size.
    """

    directory: Path
    batch_size: int
    sample_shape: tuple[int, ...]
    written: list[BatchRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._data = np.zeros((self.batch_size, *self.sample_shape), dtype=np.float32)
        self._labels: list[int] = []
        self._sources: list[str] = []

    def add(self, features: np.ndarray, label: int, source_file: str) -> BatchRecord | None:
        """Add one sample; return the batch record if this sample completed a batch."""
        self._data[len(self._labels)] = features
        self._labels.append(label)
        self._sources.append(source_file)
        if len(self._labels) == self.batch_size:
            return self.flush()
        return None

    def flush(self) -> BatchRecord | None:
        """Write whatever is buffered (a last, shorter batch); nothing if empty."""
        count = len(self._labels)
        if count == 0:
            return None
        name = f"batch_{len(self.written):05d}{BATCH_SUFFIX}"
        payload = {
            "data": self._data[:count],
            "labels": np.asarray(self._labels, dtype=np.int64),
            "source_files": list(self._sources),
        }
        size = write_pickle(self.directory / name, payload)
        record = BatchRecord(name, count, list(self._labels), list(self._sources), size)
        self.written.append(record)
        log.info("Saved batch %d with %d samples", len(self.written) - 1, count)
        self._labels.clear()
        self._sources.clear()
        return record
