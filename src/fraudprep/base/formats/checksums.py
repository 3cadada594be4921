"""Each batch file's size and checksum, kept in its metadata entry so that the loader and a
rerun can verify the file before reading it: the checksum itself, a writer that computes it
while the file is written, and a file's digest read back from disk."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np

from fraudprep.base.atomic import atomic_write

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
