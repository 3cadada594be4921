"""The ``shards`` format (streaming at corpus scale): WebDataset tar shards
``<split>-NNNNNN.tar``, each sample a ``<key>.npy`` (the features) and ``<key>.json`` (label,
path, speaker, attack, split, augmentation), with a ``wids`` shard list per split,
``shard_metadata.json`` (one entry per shard) and ``dataset_stats.json``. The ``webdataset``
package reads them as is.

Here: writing a shard member by member, and reading one back sample by sample."""

from __future__ import annotations

import functools
import json
import mmap
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from fraudprep.base.formats.checksums import ChecksumWriter, FileDigest, _write_checked
from fraudprep.base.formats.json_documents import JsonDocumentsFormat, _json_ready
from fraudprep.base.formats.npy_format import NPY_HEADER, npy_array, npy_bytes

T = TypeVar("T")
# For the disk check's estimates (bytes_per_sample): a sample's record in a shard (.json).
SHARD_JSON_BYTES = 300
# A tar member's header and data are padded to blocks of this size; two zero blocks end it.
TAR_BLOCK = 512


def _tar_header(name: str, size: int) -> bytes:
    """A POSIX (ustar) header with nothing that changes between runs: no time, no owner."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


class TarWriter:
    """Appends members to an open tar file as they come (nothing held but the member being
    written); :meth:`finish` ends the archive. Byte-identical for the same members."""

    def __init__(self, handle: IO[bytes] | ChecksumWriter) -> None:
        self.handle = handle
        self.bytes = 0

    def add(self, name: str, payload: bytes) -> None:
        padding = b"\0" * (-len(payload) % TAR_BLOCK)
        self.handle.write(_tar_header(name, len(payload)) + payload + padding)
        self.bytes += TAR_BLOCK + len(payload) + len(padding)

    def add_sample(self, key: str, features: np.ndarray, info: Mapping[str, Any]) -> None:
        """One WebDataset sample: ``<key>.npy`` and ``<key>.json``."""
        self.add(f"{key}.npy", npy_bytes(features))
        self.add(f"{key}.json", json_bytes(info))

    def finish(self) -> int:
        """End the archive; return its size in bytes."""
        self.handle.write(b"\0" * (2 * TAR_BLOCK))
        self.bytes += 2 * TAR_BLOCK
        return self.bytes


def json_bytes(obj: Any) -> bytes:
    return json.dumps(_json_ready(obj), sort_keys=True, separators=(",", ":")).encode()


def iter_shard_samples(path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) per sample of a shard, in order: members sharing the part of
    their name before the first dot, as WebDataset groups them."""
    for key, load in iter_shard_members(path):
        yield key, {extension: bytes(data) for extension, data in load().items()}


Members = dict[str, memoryview]


def iter_shard_members(path: Path) -> Iterator[tuple[str, Callable[[], Members]]]:
    """(key, load) per sample of one of our shards, in order, reading only the headers:
    ``load()`` gives the sample's members as views of the memory-mapped shard. A reader that
    takes every n-th sample touches no byte of the others.

    Our shards are plain ustar archives (:class:`TarWriter`), parsed here directly: tarfile
    spent 25 us on each header, a tenth of a DataLoader worker's time per sample. An archive
    with other member types (long names, pax headers) is read through tarfile instead."""
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    # Not closed here: the views handed out keep it alive, and it closes when they are gone.
    view = memoryview(mapped)
    try:
        members = list(_ustar_members(view))
    except _NotPlainTar:
        yield from _tarfile_members(path)
        return
    for key, found in _by_key(members):
        yield key, functools.partial(_slices, view, found)


def _ustar_members(view: memoryview) -> Iterator[tuple[str, tuple[int, int]]]:
    """(name, (data offset, size)) of each member; raises _NotPlainTar at anything but a
    regular file's ustar header, or a truncated archive."""
    position = 0
    while position + TAR_BLOCK <= len(view):
        header = view[position : position + TAR_BLOCK]
        if not any(header[:TAR_BLOCK]):
            return  # the end-of-archive blocks
        if header[156:157] not in (b"0", b"\0") or bytes(header[257:262]) != b"ustar":
            raise _NotPlainTar
        name = bytes(header[:100]).split(b"\0", 1)[0].decode("utf-8")
        prefix = bytes(header[345:500]).split(b"\0", 1)[0].decode("utf-8")
        size = int(bytes(header[124:136]).strip(b"\0 ") or b"0", 8)
        start = position + TAR_BLOCK
        if start + size > len(view):
            raise _NotPlainTar
        yield (f"{prefix}/{name}" if prefix else name), (start, size)
        position = start + size + (-size % TAR_BLOCK)


class _NotPlainTar(Exception):
    pass


def _by_key(members: Iterable[tuple[str, T]]) -> Iterator[tuple[str, dict[str, T]]]:
    """Consecutive members grouped by sample key, the name before its first dot, as
    WebDataset groups them: (key, {extension: what was given for the member})."""
    key: str | None = None
    found: dict[str, T] = {}
    for name, value in members:
        base, _, extension = name.partition(".")
        if key is not None and base != key:
            yield key, found
            found = {}
        key = base
        found[extension] = value
    if key is not None:
        yield key, found


def _slices(view: memoryview, found: Mapping[str, tuple[int, int]]) -> Members:
    return {extension: view[start : start + size] for extension, (start, size) in found.items()}


def _tarfile_members(path: Path) -> Iterator[tuple[str, Callable[[], Members]]]:
    """What iter_shard_members gives, for any tar: each sample read as it comes."""
    with tarfile.open(path, "r:") as archive:
        files = (
            (member.name, memoryview(_member_bytes(archive, member)))
            for member in archive
            if member.isfile()
        )
        for key, found in _by_key(files):
            yield key, functools.partial(dict, found)


def _member_bytes(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    assert handle is not None  # a regular file
    return handle.read()


def decode_sample(members: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """A shard sample's features and its .json record; loading runs no code."""
    return npy_array(members["npy"]), json.loads(bytes(members["json"]))


class ShardsFormat(JsonDocumentsFormat):
    """Tar shards written sample by sample (see
    :class:`fraudprep.extraction.store.ShardAccumulator`);
    a metadata entry is a shard, and reading one gives all its samples stacked."""

    name = "shards"
    batch_suffixes = (".tar",)
    path_keys = ("shard_path",)
    metadata_name = "shard_metadata.json"
    streams_samples = True

    def published_stem(self, split: str, index: int) -> str:
        return f"{split}-{index:06d}"  # WebDataset's <prefix>-NNNNNN.tar

    def bytes_per_sample(self, array_bytes: int, batch_size: int) -> int:
        """Its .npy (a header before the array) and .json (about 300 bytes) members, each a
        header block and data padded to whole blocks."""
        blocks = -(-(array_bytes + NPY_HEADER) // TAR_BLOCK) + -(-SHARD_JSON_BYTES // TAR_BLOCK)
        return (blocks + 2) * TAR_BLOCK

    def write_batch(self, directory: Path, stem: str, data: np.ndarray, labels: np.ndarray,
                    sources: list[str]) -> list[FileDigest]:  # fmt: skip
        """A whole batch as one shard (the workflow streams samples instead: see
        :class:`fraudprep.extraction.store.ShardAccumulator`)."""

        def write(handle: Any) -> None:
            tar = TarWriter(handle)
            for index, (features, label, source) in enumerate(
                zip(data, labels, sources, strict=True)
            ):
                info = {"label": int(label), "path": source}
                tar.add_sample(f"{stem}-{index:06d}", features, info)
            tar.finish()

        return [_write_checked(directory / f"{stem}.tar", write)]

    def read_batch(self, paths: list[Path], mmap: bool) -> tuple[np.ndarray, np.ndarray]:
        features, labels = [], []
        for _, members in iter_shard_samples(paths[0]):
            array, record = decode_sample(members)
            features.append(array)
            labels.append(record["label"])
        return np.stack(features), np.asarray(labels, dtype=np.int64)
