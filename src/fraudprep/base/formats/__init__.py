"""Storage formats: how a batch, the metadata and the statistics are laid out on disk.

One class per ``format`` value, each in its own module here and registered in
:data:`FORMATS`; everything else (extraction, aggregation, the loader, the report) goes
through :class:`StorageFormat` and never branches on a format's name, so adding a format is
one new module here and its entry in :data:`FORMATS`.

- ``pickle`` (:mod:`.pickle_format`, the seed's layout, the default): ``<stem>.pkl``, with
  ``batch_metadata.pkl`` and ``dataset_stats.pkl``. The seed's loading snippet reads it.
- ``npy`` (:mod:`.npy_format`, safe to load from someone else's disk): ``<stem>.data.npy``
  and ``<stem>.labels.npy``, with ``batch_metadata.json`` and ``dataset_stats.json``.
  Loading runs no code.
- ``shards`` (:mod:`.shards_format`, streaming at corpus scale): WebDataset tar shards
  ``<split>-NNNNNN.tar``, with a ``wids`` shard list per split, ``shard_metadata.json`` and
  ``dataset_stats.json``. The ``webdataset`` package reads them as is.

What they share: the interface (:mod:`.storage`), each batch file's checksum
(:mod:`.checksums`) and JSON documents (:mod:`.json_documents`). This module holds the
registry, and names what the rest of fraudprep imports from the formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fraudprep.base.formats.checksums import ChecksumWriter, FileDigest, StreamChecksum, file_digest
from fraudprep.base.formats.json_documents import (
    JsonDocumentsFormat,
    JsonListsWriter,
    read_json,
    write_json,
)
from fraudprep.base.formats.npy_format import NPY_HEADER, NpyFormat, npy_array, npy_bytes
from fraudprep.base.formats.pickle_format import (
    PICKLE_PROTOCOL,
    PICKLE_SAMPLE_OVERHEAD,
    PickleFormat,
    PickleListsWriter,
    read_pickle,
    write_pickle,
)
from fraudprep.base.formats.shards_format import (
    SHARD_JSON_BYTES,
    TAR_BLOCK,
    Members,
    ShardsFormat,
    TarWriter,
    decode_sample,
    iter_shard_members,
    iter_shard_samples,
    json_bytes,
)
from fraudprep.base.formats.storage import ListsWriter, StorageFormat

__all__ = [
    "FORMATS",
    "NPY_HEADER",
    "PICKLE_PROTOCOL",
    "PICKLE_SAMPLE_OVERHEAD",
    "SHARD_JSON_BYTES",
    "TAR_BLOCK",
    "ChecksumWriter",
    "FileDigest",
    "JsonDocumentsFormat",
    "JsonListsWriter",
    "ListsWriter",
    "Members",
    "NpyFormat",
    "PickleFormat",
    "PickleListsWriter",
    "ShardsFormat",
    "StorageFormat",
    "StreamChecksum",
    "TarWriter",
    "decode_sample",
    "file_digest",
    "format_of_document",
    "format_of_entry",
    "iter_shard_members",
    "iter_shard_samples",
    "json_bytes",
    "npy_array",
    "npy_bytes",
    "read_json",
    "read_pickle",
    "storage_format",
    "write_json",
    "write_pickle",
]

FORMATS: dict[str, StorageFormat] = {
    f.name: f for f in (PickleFormat(), NpyFormat(), ShardsFormat())
}


def storage_format(name: str) -> StorageFormat:
    if name not in FORMATS:
        raise ValueError(f"format {name!r} is not one of {sorted(FORMATS)}")
    return FORMATS[name]


def format_of_entry(entry: Mapping[str, Any]) -> StorageFormat:
    """The format of a ``batch_metadata`` entry, told by the keys that name its files."""
    for storage in FORMATS.values():
        if all(key in entry for key in storage.path_keys):
            return storage
    known = [storage.path_keys for storage in FORMATS.values()]
    raise ValueError(f"a batch_metadata entry without file keys (one of {known}): {entry!r}")


def format_of_document(path: str | Path) -> StorageFormat:
    """The format whose metadata or statistics file ``path`` is, by its name."""
    name = Path(path).name
    for storage in FORMATS.values():
        if name in (storage.metadata_name, storage.stats_name):
            return storage
    raise ValueError(f"{path} is neither a batch_metadata nor a dataset_stats file")
