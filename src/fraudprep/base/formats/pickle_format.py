"""The ``pickle`` format (the seed's layout, the default): ``<stem>.pkl`` holding
``{'data': array (n, ...), 'labels': int64 (n,), 'source_files': [paths]}``, with
``batch_metadata.pkl`` and ``dataset_stats.pkl``; and pickled documents, written whole or
item by item."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.atomic import atomic_write
from fraudprep.base.formats.checksums import FileDigest, _write_checked
from fraudprep.base.formats.storage import ListsWriter, StorageFormat

# A fixed protocol keeps the bytes identical across Python versions that support it.
PICKLE_PROTOCOL = 5
# For the disk check's estimates (bytes_per_sample): a pickled batch's per-sample share
# beyond the array (its path).
PICKLE_SAMPLE_OVERHEAD = 200


def write_pickle(path: str | Path, obj: Any) -> int:
    """Pickle ``obj`` to ``path`` atomically; return the bytes written."""
    with atomic_write(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=PICKLE_PROTOCOL)
        return handle.tell()


def read_pickle(path: str | Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


class PickleListsWriter(ListsWriter):
    """Loads as ``pickle.dump`` of the whole dictionary: items are pickled alone, without
    memo references, and appended to the key's list in blocks."""

    BLOCK = 1000  # items per APPENDS opcode

    def _open(self) -> None:
        self._block: list[bytes] = []
        self.handle.write(b"\x80" + bytes([PICKLE_PROTOCOL]) + b"}")  # PROTO n, EMPTY_DICT

    def _start_key(self, key: str) -> None:
        self.handle.write(_pickled_body(key) + b"]")  # the key, EMPTY_LIST

    def _add_item(self, item: Any) -> None:
        self._block.append(_pickled_body(item))
        if len(self._block) == self.BLOCK:
            self._flush_block()

    def _close_key(self) -> None:
        self._flush_block()
        self.handle.write(b"s")  # SETITEM: dict[key] = the list built since start()

    def _close(self) -> None:
        self.handle.write(b".")  # STOP

    def _flush_block(self) -> None:
        if self._block:
            self.handle.write(b"(" + b"".join(self._block) + b"e")  # MARK ... APPENDS
            self._block = []


def _pickled_body(obj: Any) -> bytes:
    """``obj``'s pickle opcodes without the protocol header, frame and STOP, and without memo
    references (fast mode), so that they can be spliced into a larger pickle."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=PICKLE_PROTOCOL)
    pickler.fast = True  # no memo: references would point into this object's own memo
    pickler.dump(obj)
    data = buffer.getvalue()
    start = 2  # PROTO n
    if data[start : start + 1] == pickle.FRAME:
        start += 9  # FRAME + 8-byte length
    return data[start:-1]  # without STOP


class PickleFormat(StorageFormat):
    name = "pickle"
    one_channel_images = False
    batch_suffixes = (".pkl",)
    path_keys = ("file_path",)  # the key the seed's loading snippet reads
    metadata_name = "batch_metadata.pkl"
    stats_name = "dataset_stats.pkl"
    lists_writer = PickleListsWriter

    def write_batch(self, directory: Path, stem: str, data: np.ndarray, labels: np.ndarray,
                    sources: list[str]) -> list[FileDigest]:  # fmt: skip
        payload = {"data": data, "labels": labels, "source_files": sources}

        def dump(handle: Any) -> None:
            pickle.dump(payload, handle, protocol=PICKLE_PROTOCOL)

        return [_write_checked(directory / f"{stem}.pkl", dump)]

    def bytes_per_sample(self, array_bytes: int, batch_size: int) -> int:
        return array_bytes + 8 + PICKLE_SAMPLE_OVERHEAD  # the label, the path's pickle

    def read_batch(self, paths: list[Path], mmap: bool) -> tuple[np.ndarray, np.ndarray]:
        batch = read_pickle(paths[0])  # a pickle cannot be memory-mapped: mmap is moot
        return batch["data"], batch["labels"]

    def write_document(self, path: str | Path, obj: Any) -> int:
        return write_pickle(path, obj)

    def read_document(self, path: str | Path) -> Any:
        return read_pickle(path)
