"""Chunks: the scheduling unit. Consecutive manifest rows, ``chunk_size`` at most.

A chunk holds many files so that a job's start-up is paid once for all of them; a batch (a few
samples) is the unit of output and memory. Chunks are cut from the whole manifest, across
split boundaries, so that they can all be of one size: the extraction job flushes its batch
where one split ends and the next begins, so every batch still belongs to exactly one split.
Chunks within one file of each other in size, and as many as a multiple of ``BALANCE``, keep
1, 2 or 4 cores busy to the end of a run whatever the splits' sizes (chunks that stayed within
a split left one core working alone on a large training split). Assignment depends only on the
manifest and ``chunk_size``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

from fraudprep.base.atomic import atomic_write
from fraudprep.inputs.manifest import iter_manifest

CHUNK_COLUMNS = ("chunk", "start", "stop")
CHUNK_ID_PATTERN = r"chunk-\d{5}"
# The number of chunks is a multiple of this (when there are enough files): equal chunks then
# end together on 1, 2 or 4 cores.
BALANCE = 4
# Fewer files than this per chunk and a job's start-up (about 0.35 s of CPU, the work of some
# 100 files) outweighs what another chunk gains: small datasets get 1 or 2 chunks.
MIN_CHUNK_FILES = 100


class Chunk(NamedTuple):
    id: str  # chunk-NNNNN, the `chunk` column of chunks.csv and the {chunk} wildcard
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def chunk_id(index: int) -> str:
    return f"chunk-{index:05d}"


def chunk_count(rows: int, chunk_size: int) -> int:
    """How many chunks ``rows`` manifest rows make. When ``chunk_size`` calls for several, as
    many as that rounded up to a multiple of ``BALANCE``; when one would do, still 2 or 4 if
    each then keeps ``MIN_CHUNK_FILES`` to pay for its start-up."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    if rows == 0:
        return 0
    needed = -(-rows // chunk_size)
    if needed > 1:
        return BALANCE * -(-needed // BALANCE)
    return max(n for n in (1, 2, BALANCE) if n == 1 or n * MIN_CHUNK_FILES <= rows)


def chunk_sizes(rows: int, chunk_size: int) -> list[int]:
    """The sizes of ``chunk_count`` chunks of ``rows`` rows: within one row of each other, the
    larger first (``fraudprep plan`` counts them without a manifest)."""
    count = chunk_count(rows, chunk_size)
    if not count:
        return []
    base, larger = divmod(rows, count)
    return [base + (index < larger) for index in range(count)]


def plan_chunks(manifest_path: str | os.PathLike[str], chunk_size: int) -> list[Chunk]:
    """Cut the manifest into ``chunk_count`` chunks whose sizes differ by one at most."""
    rows = sum(1 for _ in iter_manifest(manifest_path))
    chunks, start = [], 0
    for index, size in enumerate(chunk_sizes(rows, chunk_size)):
        chunks.append(Chunk(chunk_id(index), start, start + size))
        start += size
    return chunks


def write_chunks(
    manifest_path: str | os.PathLike[str], chunk_size: int, output_path: str | os.PathLike[str]
) -> list[Chunk]:
    chunks = plan_chunks(manifest_path, chunk_size)
    with atomic_write(output_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CHUNK_COLUMNS)
        writer.writerows(chunks)
    return chunks


def read_chunks(path: str | os.PathLike[str]) -> list[Chunk]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [Chunk(r["chunk"], int(r["start"]), int(r["stop"])) for r in reader]


def find_chunk(path: str | os.PathLike[str], chunk: str) -> Chunk:
    for candidate in read_chunks(path):
        if candidate.id == chunk:
            return candidate
    raise KeyError(f"chunk {chunk!r} is not in {Path(path)}")
