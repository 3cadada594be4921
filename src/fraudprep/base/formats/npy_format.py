"""The ``npy`` format (safe to load from someone else's disk): ``<stem>.data.npy`` and
``<stem>.labels.npy``, loadable with ``allow_pickle=False`` and memory-mappable, with
``batch_metadata.json`` and ``dataset_stats.json``. Loading runs no code. Also a .npy file's
bytes and back, for the members of shards."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.formats.checksums import FileDigest, _write_checked
from fraudprep.base.formats.json_documents import JsonDocumentsFormat

# For the disk check's estimates (bytes_per_sample): a .npy file's header.
NPY_HEADER = 128


def _save(handle: Any, array: np.ndarray) -> None:
    np.save(handle, array, allow_pickle=False)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    _save(buffer, array)
    return buffer.getvalue()


def npy_array(data: memoryview | bytes) -> np.ndarray:
    """The array of a .npy file's bytes, as a copy (the bytes may be a view of a mapped
    shard); loading runs no code."""
    head = io.BytesIO(bytes(data[:4096]))
    major, _ = np.lib.format.read_magic(head)
    read_header = (
        np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    )
    shape, fortran_order, dtype = read_header(head)
    if dtype.hasobject:
        raise ValueError("a .npy member holding Python objects is not loaded (it would run code)")
    count = int(np.prod(shape))
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=head.tell())
    return flat.reshape(shape, order="F" if fortran_order else "C").copy()


class NpyFormat(JsonDocumentsFormat):
    name = "npy"
    batch_suffixes = (".data.npy", ".labels.npy")
    path_keys = ("data_path", "labels_path")
    metadata_name = "batch_metadata.json"

    def write_batch(self, directory: Path, stem: str, data: np.ndarray, labels: np.ndarray,
                    sources: list[str]) -> list[FileDigest]:  # fmt: skip
        # Sources are in the metadata only: a .npy file holds one array.
        return [
            _write_checked(directory / f"{stem}{suffix}", functools.partial(_save, array=array))
            for suffix, array in zip(self.batch_suffixes, (data, labels), strict=True)
        ]

    def bytes_per_sample(self, array_bytes: int, batch_size: int) -> int:
        # The label, and two .npy headers a batch.
        return array_bytes + 8 + -(-2 * NPY_HEADER // batch_size)

    def read_batch(self, paths: list[Path], mmap: bool) -> tuple[np.ndarray, np.ndarray]:
        data = np.load(paths[0], mmap_mode="r" if mmap else None, allow_pickle=False)
        return data, np.load(paths[1], allow_pickle=False)
