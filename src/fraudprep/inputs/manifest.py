"""The manifest: one table of every input file with its split and label.

Every dataset layout is turned into this one table (``manifest.csv``:
``path,split,label,size,speaker,attack,source,hash``, and ``corpus`` last when the config lists
``corpora``), sorted deterministically, before any feature is computed.
Later steps read it by row ranges. Segment labels (PartialSpoof's) are kept beside it, in
``segments.csv`` (:data:`SEGMENTS_COLUMNS`), only when some corpus has them. The split and
label names are defined here, once: the readers (:mod:`fraudprep.inputs.datasets`), the
outputs and the loader all use them.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from fraudprep.base.atomic import atomic_write

SPLITS = ("training", "validation", "testing")
TRAINING, VALIDATION, TESTING = SPLITS
LABELS = {"real": 0, "fake": 1}
REAL, FAKE = LABELS["real"], LABELS["fake"]
LABEL_NAMES = {number: name for name, number in LABELS.items()}  # 0 -> "real"
# The batches of a split's augmented copies (config augmentation): training -> training_aug.
AUGMENTED_SUFFIX = "_aug"


def augmented_split(split: str) -> str:
    return f"{split}{AUGMENTED_SUFFIX}"


# Other names for the same splits and classes: those users' own listings commonly use, and the
# corpora's (ASVspoof's train/dev/eval and bonafide/spoof, In-the-Wild's bona-fide).
SPLIT_ALIASES = {
    **{split: split for split in SPLITS},
    "train": TRAINING,
    **dict.fromkeys(("valid", "val", "dev"), VALIDATION),
    **dict.fromkeys(("test", "eval"), TESTING),
}
LABEL_ALIASES = {
    **LABELS,
    **{str(label): label for label in LABELS.values()},
    **dict.fromkeys(("bonafide", "bona-fide", "genuine"), REAL),
    **dict.fromkeys(("spoof", "synthetic"), FAKE),
}
MANIFEST_COLUMNS = ("path", "split", "label", "size", "speaker", "attack", "source", "hash")
# A manifest of several corpora (config ``corpora``) names each row's corpus in one more column;
# a single dataset's manifest keeps the columns above, byte for byte.
CORPUS_MANIFEST_COLUMNS = (*MANIFEST_COLUMNS, "corpus")
SKIPPED_COLUMNS = ("path", "split", "label", "reason")
# Segment labels of the manifest's files that have them, beside the manifest, in row order:
# the manifest row (0-based, header excluded), its path, the seconds per segment and one digit
# per segment (0 real, 1 fake, as LABELS). Written only when a corpus has segment labels.
SEGMENTS_NAME = "segments.csv"
SEGMENTS_COLUMNS = ("row", "path", "resolution", "labels")


class ManifestError(ValueError):
    """The input cannot become a manifest; the message names the file and what to fix."""


class ManifestRow(NamedTuple):
    path: str
    split: str
    label: int
    size: int
    speaker: str = ""
    attack: str = ""  # attack / system id of a fake ("-" or "" for real or unknown)
    source: str = ""  # which dataset reader produced the row
    hash: str = ""  # content hash of the file's bytes, for leakage checks
    corpus: str = ""  # the config's name of the corpus (``corpora``); "" for a single dataset


def natural_key(text: str) -> tuple:
    """Sort key under which ``clip2`` comes before ``clip10``; ties broken by the exact text."""
    parts = re.split(r"(\d+)", text)
    folded = tuple(int(part) if i % 2 else part.casefold() for i, part in enumerate(parts))
    return (folded, text)


def row_sort_key(row: ManifestRow) -> tuple:
    """Split, then corpus (all "" for a single dataset), then path: each corpus's rows of a
    split are adjacent, in the same order whatever order the readers produced them in."""
    return (SPLITS.index(row.split), row.corpus, natural_key(row.path))


class SkippedFile(NamedTuple):
    """A file under a class folder that is not taken as audio: listed, never dropped silently."""

    path: str
    split: str
    label: int
    reason: str


def skipped_sort_key(skipped: SkippedFile) -> tuple:
    return (SPLITS.index(skipped.split), natural_key(skipped.path))


def parse_split(text: str) -> str | None:
    """One of SPLITS from a split as listings spell it (``train``, ``dev``...), or None."""
    return SPLIT_ALIASES.get((text or "").strip().lower())


def parse_label(text: str, label_map: dict[str, str] | None = None) -> int | None:
    """0 (real) or 1 (fake) from a label as datasets spell it, or None if unknown."""
    key = (text or "").strip().lower()
    mapped = {k.lower(): v for k, v in (label_map or {}).items()}.get(key, key)
    return LABEL_ALIASES.get(str(mapped).lower())


def write_manifest(
    rows: Iterable[ManifestRow], path: str | os.PathLike[str], with_corpus: bool = False
) -> int:
    """Write rows as the manifest CSV (atomically); return how many were written."""
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        return write_manifest_rows(rows, handle, with_corpus)


def write_manifest_rows(
    rows: Iterable[ManifestRow], handle: IO[str], with_corpus: bool = False
) -> int:
    """Write the header and rows to an open file; return how many rows were written. The
    ``corpus`` column is written only ``with_corpus`` (a manifest of ``corpora``)."""
    if with_corpus:
        return _write_table(CORPUS_MANIFEST_COLUMNS, rows, handle)
    width = len(MANIFEST_COLUMNS)
    return _write_table(MANIFEST_COLUMNS, (row[:width] for row in rows), handle)


def write_skipped(skipped: Iterable[SkippedFile], path: str | os.PathLike[str]) -> int:
    """``skipped.csv``: every file the scan did not take as audio, with the reason."""
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        return _write_table(SKIPPED_COLUMNS, skipped, handle)


def _write_table(columns: Iterable[str], rows: Iterable[Iterable], handle: IO[str]) -> int:
    count = 0
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def manifest_has_corpus(path: str | os.PathLike[str]) -> bool:
    """Whether the manifest names each row's corpus (it was built from ``corpora``)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return tuple(next(csv.reader(handle), ())) == CORPUS_MANIFEST_COLUMNS


def count_table_rows(path: str | os.PathLike[str]) -> int:
    """Rows of a CSV table we wrote (header excluded), streamed; 0 if it does not exist."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except FileNotFoundError:
        return 0


def iter_manifest(
    path: str | os.PathLike[str], start: int = 0, stop: int | None = None
) -> Iterator[ManifestRow]:
    """Stream rows ``start:stop`` (0-based, header excluded) without loading the whole table."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if tuple(header or ()) not in (MANIFEST_COLUMNS, CORPUS_MANIFEST_COLUMNS):
            raise ManifestError(f"{path}: not a fraudprep manifest (header {header})")
        for record in itertools.islice(reader, start, stop):
            yield ManifestRow(record[0], record[1], int(record[2]), int(record[3]), *record[4:])


def segments_path(manifest_path: str | os.PathLike[str]) -> Path:
    """The segment labels table beside a manifest (it may not exist)."""
    return Path(manifest_path).with_name(SEGMENTS_NAME)


class SegmentLabels(NamedTuple):
    row: int  # the manifest row
    path: str
    resolution: float  # seconds per segment
    labels: str  # one digit per segment: 0 real, 1 fake


def write_segments(rows: Iterable[SegmentLabels], handle: IO[str]) -> int:
    """Write the segment labels table (rows in manifest row order) to an open file."""
    return _write_table(SEGMENTS_COLUMNS, rows, handle)


def iter_segments(
    manifest_path: str | os.PathLike[str], start: int = 0, stop: int | None = None
) -> Iterator[SegmentLabels]:
    """The segment labels of manifest rows ``start:stop`` that have them, streamed; none if the
    manifest has no table beside it. Reading stops at the first row past ``stop``."""
    path = segments_path(manifest_path)
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        return
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if tuple(header or ()) != SEGMENTS_COLUMNS:
            raise ManifestError(f"{path}: not a fraudprep segments table (header {header})")
        for record in reader:
            row = int(record[0])
            if stop is not None and row >= stop:
                return
            if row >= start:
                yield SegmentLabels(row, record[1], float(record[2]), record[3])
