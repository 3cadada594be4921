"""The per-chunk CSV tables of one model (failed files, augmented copies that failed, each
sample's properties) concatenated into the model's own, for the final step."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from fraudprep.base.atomic import atomic_write
from fraudprep.base.layout import (
    COPY_FAILURE_COLUMNS,
    COPY_FAILURES,
    FAILURE_COLUMNS,
    FAILURES,
    PROPERTIES,
)
from fraudprep.extraction.properties import PROPERTY_COLUMNS
from fraudprep.inputs.manifest import SPLITS


def _chunk_rows(chunk_dirs: Sequence[Path], table: str) -> Iterator[list[str]]:
    """The rows of every chunk's ``table``, chunk after chunk, headers left out."""
    for chunk_dir in chunk_dirs:
        with open(chunk_dir / table, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            yield from reader


def _concatenate(
    chunk_dirs: Sequence[Path],
    table: str,
    columns: Sequence[str],
    path: Path,
    count_column: int,
) -> Counter:
    """Every chunk's ``table`` into one file at ``path``; return the rows counted by the
    values of their column ``count_column``."""
    counts: Counter = Counter()
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in _chunk_rows(chunk_dirs, table):
            writer.writerow(row)
            counts[row[count_column]] += 1
    return counts


def write_failures(chunk_dirs: Sequence[Path], path: Path) -> Counter:
    """Concatenate the chunks' failure tables; return counts per reason."""
    return _concatenate(chunk_dirs, FAILURES, FAILURE_COLUMNS, path, count_column=3)


def write_copy_failures(chunk_dirs: Sequence[Path], path: Path) -> Counter:
    """Concatenate the chunks' tables of augmented copies that failed; return counts per
    split (the copies' splits, ``training_aug``...)."""
    return _concatenate(chunk_dirs, COPY_FAILURES, COPY_FAILURE_COLUMNS, path, count_column=1)


def write_properties(chunk_dirs: Sequence[Path], path: Path) -> None:
    """Concatenate the chunks' per-sample properties in the order of the batches: split by
    split, chunks in manifest order (a chunk may hold the end of one split and the start of
    the next)."""
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PROPERTY_COLUMNS)
        for split in SPLITS:
            rows = _chunk_rows(chunk_dirs, PROPERTIES)
            writer.writerows(row for row in rows if row[1] == split)
