"""JSON documents: the metadata and statistics of the ``npy`` and ``shards`` formats (loading
them runs no code), written whole or item by item, and other small JSON outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.atomic import atomic_write
from fraudprep.base.formats.storage import ListsWriter, StorageFormat


def _json_ready(value: Any) -> Any:
    """numpy arrays and scalars as lists and numbers; tuples as lists; keys as strings."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def write_json(path: str | Path, obj: Any) -> int:
    with atomic_write(path, "w", encoding="utf-8") as handle:
        json.dump(_json_ready(obj), handle, indent=1)
        return handle.tell()


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class JsonListsWriter(ListsWriter):
    """The same document as ``json.dump`` gives, laid out one item per line."""

    def _open(self) -> None:
        self.handle.write(b"{")

    def _start_key(self, key: str) -> None:
        separator = b"," if self._keys else b""
        self.handle.write(separator + b"\n " + json.dumps(key).encode() + b": [")

    def _add_item(self, item: Any) -> None:
        separator = b"," if self._items_in_key else b""
        self.handle.write(separator + b"\n  " + json.dumps(_json_ready(item)).encode())

    def _close_key(self) -> None:
        self.handle.write(b"\n ]" if self._items_in_key else b"]")

    def _close(self) -> None:
        self.handle.write(b"\n}\n")


class JsonDocumentsFormat(StorageFormat):
    """What the formats with JSON documents share: their statistics file and how documents
    are written and read."""

    stats_name = "dataset_stats.json"
    lists_writer = JsonListsWriter

    def write_document(self, path: str | Path, obj: Any) -> int:
        return write_json(path, obj)

    def read_document(self, path: str | Path) -> Any:
        return read_json(path)
