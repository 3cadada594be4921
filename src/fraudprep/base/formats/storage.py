"""What every storage format is: :class:`StorageFormat`, the interface the rest of fraudprep
uses, and :class:`ListsWriter`, how a format writes a ``{key: [items]}`` document (the
batch metadata) one item at a time."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from fraudprep.base.atomic import atomic_write
from fraudprep.base.formats.checksums import FileDigest


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
