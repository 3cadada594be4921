"""Storage formats: how a batch, the metadata and the statistics are laid out on disk.

One class per ``format`` value, registered in :data:`FORMATS`; everything else (extraction,
aggregation, the loader, the report) goes through :class:`StorageFormat` and never branches
on a format's name, so adding a format is one new class here.

- ``pickle`` (the seed's layout, the default): ``<stem>.pkl`` holding
  ``{'data': array (n, ...), 'labels': int64 (n,), 'source_files': [paths]}``, with
  ``batch_metadata.pkl`` and ``dataset_stats.pkl``. The seed's loading snippet reads it.
- ``npy`` (safe to load from someone else's disk): ``<stem>.data.npy`` and
  ``<stem>.labels.npy``, loadable with ``allow_pickle=False`` and memory-mappable, with
  ``batch_metadata.json`` and ``dataset_stats.json``. Loading runs no code.
- ``shards`` (streaming at corpus scale): WebDataset tar shards ``<split>-NNNNNN.tar``, each
  sample a ``<key>.npy`` (the features) and ``<key>.json`` (label, path, speaker, attack,
  split, augmentation), with a ``wids`` shard list per split, ``shard_metadata.json`` (one
  entry per shard) and ``dataset_stats.json``. The ``webdataset`` package reads them as is.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import mmap
import pickle
import tarfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

import numpy as np

from fraudprep.base.atomic import atomic_write

# A fixed protocol keeps the bytes identical across Python versions that support it.
PICKLE_PROTOCOL = 5
T = TypeVar("T")
# For the disk check's estimates (bytes_per_sample): a .npy file's header, a sample's record
# in a shard (.json), and a pickled batch's per-sample share beyond the array (its path).
NPY_HEADER = 128
SHARD_JSON_BYTES = 300
PICKLE_SAMPLE_OVERHEAD = 200


# What a batch's metadata entry records of each of its files, to verify it before reading:
# (bytes, checksum). See :class:`StreamChecksum`.
FileDigest = tuple[int, str]
_WORD = 8
_MASK = 2**64 - 1


class StreamChecksum:
    """The sum of a byte stream's 64-bit little-endian words (the last one padded with
    zeros), modulo 2**64, as 16 hex digits: fed in pieces of any size, equal to that of the
    whole.

    Not a cryptographic hash: it catches what damages files on disk (any flipped bit, a lost
    or zeroed page) at memory speed. CRC-32 cost 0.15 ms per 602 KB sample, as much as
    writing the sample; numpy sums its words in 0.025 ms.
    """

    def __init__(self) -> None:
        self.sum = 0
        self._carry = b""  # the bytes of a word not yet complete

    def update(self, view: memoryview) -> None:
        if self._carry:
            head = bytes(view[: _WORD - len(self._carry)])
            self._carry += head
            view = view[len(head) :]
            if len(self._carry) < _WORD:
                return
            self._add(np.frombuffer(self._carry, "<u8"))
            self._carry = b""
        whole = len(view) - len(view) % _WORD
        if whole:
            self._add(np.frombuffer(view[:whole], "<u8"))
        self._carry = bytes(view[whole:])

    def _add(self, words: np.ndarray) -> None:
        self.sum = (self.sum + int(words.sum(dtype=np.uint64))) & _MASK

    def hexdigest(self) -> str:
        last = int.from_bytes(self._carry.ljust(_WORD, b"\0"), "little") if self._carry else 0
        return f"{(self.sum + last) & _MASK:016x}"


class ChecksumWriter:
    """Passes writes through to ``handle``, keeping their size and checksum as they go: a
    file's digest without reading it back."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.size = 0
        self.checksum = StreamChecksum()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.checksum.update(view)
        self.size += view.nbytes
        return self.handle.write(view)

    def digest(self) -> FileDigest:
        return self.size, self.checksum.hexdigest()


def file_digest(path: str | Path, block: int = 2**20) -> FileDigest:
    """Size and checksum of a file, read in blocks."""
    size, checksum = 0, StreamChecksum()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            size += len(chunk)
            checksum.update(memoryview(chunk))
    return size, checksum.hexdigest()


def _write_checked(path: Path, write: Any) -> FileDigest:
    """Write a batch file atomically through ``write(handle)``; return its digest."""
    with atomic_write(path, "wb", verified=True) as handle:
        checked = ChecksumWriter(handle)
        write(checked)
        return checked.digest()


def write_pickle(path: str | Path, obj: Any) -> int:
    """Pickle ``obj`` to ``path`` atomically; return the bytes written."""
    with atomic_write(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=PICKLE_PROTOCOL)
        return handle.tell()


def read_pickle(path: str | Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


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


def _save(handle: Any, array: np.ndarray) -> None:
    np.save(handle, array, allow_pickle=False)


class ListsWriter(ABC):
    """Writes ``{key: [item, ...], ...}`` to an open file one item at a time, as one document,
    so that a million batches' metadata never sits in memory.

    Keys come in the order they are to appear, each once; items of a key are added between
    its :meth:`start` and the next key's. What is written loads as the whole dictionary
    written at once would.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self._key: str | None = None
        self._items_in_key = 0
        self._keys = 0
        self._open()

    def start(self, key: str) -> None:
        self._end_key()
        self._key, self._items_in_key = key, 0
        self._start_key(key)
        self._keys += 1

    def add(self, item: Any) -> None:
        self._add_item(item)
        self._items_in_key += 1

    def finish(self) -> None:
        self._end_key()
        self._close()

    def _end_key(self) -> None:
        if self._key is not None:
            self._close_key()
            self._key = None

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _start_key(self, key: str) -> None: ...

    @abstractmethod
    def _add_item(self, item: Any) -> None: ...

    @abstractmethod
    def _close_key(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...


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


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    _save(buffer, array)
    return buffer.getvalue()


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


def decode_sample(members: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """A shard sample's features and its .json record; loading runs no code."""
    return npy_array(members["npy"]), json.loads(bytes(members["json"]))


class StorageFormat(ABC):
    """One ``format`` value: file names, and how batches and documents are written and read.

    A batch's metadata entry names its files under :attr:`path_keys` (one key per file, in
    the order of :attr:`batch_suffixes`); readers tell the format from those keys.
    """

    name: ClassVar[str]
    batch_suffixes: ClassVar[tuple[str, ...]]
    path_keys: ClassVar[tuple[str, ...]]
    metadata_name: ClassVar[str]
    stats_name: ClassVar[str]
    lists_writer: ClassVar[type[ListsWriter]]

    @abstractmethod
    def write_batch(self, directory: Path, stem: str, data: np.ndarray, labels: np.ndarray,
                    sources: list[str]) -> list[FileDigest]:  # fmt: skip
        """Write one batch as ``stem`` + suffixes in ``directory``; return each file's digest
        (in suffix order)."""

    @abstractmethod
    def read_batch(self, paths: list[Path], mmap: bool) -> tuple[np.ndarray, np.ndarray]:
        """(data, labels) of the batch whose files are ``paths`` (in suffix order)."""

    @abstractmethod
    def write_document(self, path: str | Path, obj: Any) -> int:
        """Write metadata or statistics atomically; return bytes written."""

    @abstractmethod
    def read_document(self, path: str | Path) -> Any: ...

    # Mel images stored with one channel (the profile's channels are copies of it): the
    # loader gives the profile's channels back. The seed's pickles keep its arrays.
    one_channel_images: ClassVar[bool] = True
    # Samples are written one by one as they come (shards), not in batches of batch_size.
    streams_samples: ClassVar[bool] = False

    def published_stem(self, split: str, index: int) -> str:
        """The name the final step gives the ``index``-th batch file of ``split``."""
        return f"{split}_batch_{index}"

    @abstractmethod
    def bytes_per_sample(self, array_bytes: int, batch_size: int) -> int:
        """What one sample whose array has ``array_bytes`` takes on disk (for the disk
        check before a run): the array and this format's share of headers and records."""

    def batch_paths(self, directory: Path, stem: str) -> dict[str, str]:
        """A batch's files, under the metadata keys readers use."""
        return {
            key: (directory / f"{stem}{suffix}").as_posix()
            for key, suffix in zip(self.path_keys, self.batch_suffixes, strict=True)
        }

    def entry_files(self, entry: Mapping[str, Any], directory: Path) -> list[Path]:
        """The files of a metadata entry, found in ``directory`` (outputs may have moved)."""
        return [directory / Path(entry[key]).name for key in self.path_keys]

    @contextlib.contextmanager
    def lists_document(self, path: str | Path) -> Iterator[ListsWriter]:
        """Write a ``{key: [items]}`` document item by item; it appears, atomically, when the
        ``with`` block ends without an exception (see :class:`ListsWriter`)."""
        with atomic_write(path, "wb") as handle:
            writer = self.lists_writer(handle)
            yield writer
            writer.finish()


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


class NpyFormat(StorageFormat):
    name = "npy"
    batch_suffixes = (".data.npy", ".labels.npy")
    path_keys = ("data_path", "labels_path")
    metadata_name = "batch_metadata.json"
    stats_name = "dataset_stats.json"
    lists_writer = JsonListsWriter

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

    def write_document(self, path: str | Path, obj: Any) -> int:
        return write_json(path, obj)

    def read_document(self, path: str | Path) -> Any:
        return read_json(path)


class ShardsFormat(StorageFormat):
    """Tar shards written sample by sample (see
    :class:`fraudprep.extraction.store.ShardAccumulator`);
    a metadata entry is a shard, and reading one gives all its samples stacked."""

    name = "shards"
    batch_suffixes = (".tar",)
    path_keys = ("shard_path",)
    metadata_name = "shard_metadata.json"
    stats_name = "dataset_stats.json"
    lists_writer = JsonListsWriter
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

    def write_document(self, path: str | Path, obj: Any) -> int:
        return write_json(path, obj)

    def read_document(self, path: str | Path) -> Any:
        return read_json(path)


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
