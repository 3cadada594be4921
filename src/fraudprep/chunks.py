"""Chunks: the scheduling unit. Consecutive manifest rows of one split, ``chunk_size`` at most.

A chunk holds many files so that a job's start-up is paid once for all of them; a batch (a few
samples) is the unit of output and memory. Chunks never straddle splits, so every batch
belongs to exactly one split. A split is cut into as few chunks as ``chunk_size`` allows, of
equal size (within one file): no short last chunk leaves a core idle at the end of a run.
Assignment depends only on the manifest and ``chunk_size``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from fraudprep.atomic import atomic_write
from fraudprep.manifest import SPLITS, ManifestError, iter_manifest

CHUNK_COLUMNS = ("chunk", "split", "start", "stop")
CHUNK_ID_PATTERN = r"(training|validation|testing)-\d{5}"


class Chunk(NamedTuple):
    chunk: str
    split: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def chunk_id(split: str, index: int) -> str:
    return f"{split}-{index:05d}"


def plan_chunks(manifest_path: str | os.PathLike[str], chunk_size: int) -> Iterator[Chunk]:
    """Cut the (split-sorted) manifest into chunks, streaming it row by row."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    for split, start, stop in split_ranges(manifest_path):
        yield from even_chunks(split, start, stop, chunk_size)


def split_ranges(manifest_path: str | os.PathLike[str]) -> Iterator[tuple[str, int, int]]:
    """(split, first row, row after the last) of each split, checking splits are grouped."""
    split, start, row_number = None, 0, -1
    seen_splits: list[str] = []
    for row_number, row in enumerate(iter_manifest(manifest_path)):
        if row.split == split:
            continue
        if split is not None:
            yield split, start, row_number
        if row.split in seen_splits:
            raise ManifestError(f"{manifest_path}: rows are not grouped by split")
        seen_splits.append(row.split)
        split, start = row.split, row_number
    if split is not None:
        yield split, start, row_number + 1


def even_chunks(split: str, start: int, stop: int, chunk_size: int) -> Iterator[Chunk]:
    """Rows ``start:stop`` in ceil(n / chunk_size) chunks whose sizes differ by one at most."""
    count = -(-(stop - start) // chunk_size)
    base, larger = divmod(stop - start, count)
    for index in range(count):
        size = base + (index < larger)
        yield Chunk(chunk_id(split, index), split, start, start + size)
        start += size


def write_chunks(
    manifest_path: str | os.PathLike[str], chunk_size: int, output_path: str | os.PathLike[str]
) -> list[Chunk]:
    chunks = list(plan_chunks(manifest_path, chunk_size))
    with atomic_write(output_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CHUNK_COLUMNS)
        writer.writerows(chunks)
    return chunks


def read_chunks(path: str | os.PathLike[str]) -> list[Chunk]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [Chunk(r["chunk"], r["split"], int(r["start"]), int(r["stop"])) for r in reader]


def find_chunk(path: str | os.PathLike[str], chunk: str) -> Chunk:
    for candidate in read_chunks(path):
        if candidate.chunk == chunk:
            return candidate
    raise KeyError(f"chunk {chunk!r} is not in {Path(path)}")


def split_order(chunk: Chunk) -> tuple[int, int]:
    return (SPLITS.index(chunk.split), chunk.start)
