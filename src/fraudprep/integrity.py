"""Content hashes and leakage: the same audio in two splits, or under two labels.

A detector evaluated on clips it was trained on, or trained on a clip labelled both ways,
reports numbers that mean nothing. Hashing every file's bytes (streamed, so memory stays
flat) finds byte-identical copies whatever their names.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fraudprep.atomic import atomic_write
from fraudprep.manifest import ManifestRow

log = logging.getLogger(__name__)

HASH_BLOCK = 1 << 20
LEAKAGE_COLUMNS = ("hash", "kind", "path", "split", "label")


def content_hash(path: str) -> str:
    """BLAKE2b-128 of the file's bytes, or "" for an entry that is not a readable file."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def with_hashes(rows: Iterable[ManifestRow], workers: int | None = None) -> list[ManifestRow]:
    """Rows with their content hash filled in, in the same order.

    Reading and hashing release the GIL, so a few threads overlap disk waits and hashing.
    """
    rows = list(rows)
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        hashes = pool.map(
            lambda row: content_hash(row.path) if os.path.isfile(row.path) else "",
            rows,
            chunksize=64,
        )
        return [row._replace(hash=digest) for row, digest in zip(rows, hashes, strict=True)]


@dataclass(frozen=True)
class Leak:
    hash: str
    kind: str  # "split" (same audio in several splits) or "label" (same audio, both labels)
    rows: tuple[ManifestRow, ...]


def find_leaks(rows: Iterable[ManifestRow]) -> list[Leak]:
    """Groups of byte-identical files that cross splits or carry both labels."""
    groups: dict[str, list[ManifestRow]] = defaultdict(list)
    for row in rows:
        if row.hash:
            groups[row.hash].append(row)
    leaks = []
    for digest in sorted(groups):
        members = groups[digest]
        if len({r.label for r in members}) > 1:
            leaks.append(Leak(digest, "label", tuple(members)))
        elif len({r.split for r in members}) > 1:
            leaks.append(Leak(digest, "split", tuple(members)))
    return leaks


def write_leaks(leaks: list[Leak], path: str | Path) -> None:
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LEAKAGE_COLUMNS)
        for leak in leaks:
            writer.writerows((leak.hash, leak.kind, r.path, r.split, r.label) for r in leak.rows)


def read_leak_summary(path: str | Path) -> dict[str, int]:
    """Counts from a leakage table: groups of each kind and files involved."""
    groups: dict[str, set[str]] = {"split": set(), "label": set()}
    files = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            groups[record["kind"]].add(record["hash"])
            files += 1
    return {
        "split_leaks": len(groups["split"]),
        "label_conflicts": len(groups["label"]),
        "files_involved": files,
    }


def describe_leaks(leaks: list[Leak], limit: int = 5) -> str:
    lines = []
    for leak in leaks[:limit]:
        where = ", ".join(f"{r.path} ({r.split}, label {r.label})" for r in leak.rows)
        what = "both labels" if leak.kind == "label" else "several splits"
        lines.append(f"  identical audio in {what}: {where}")
    more = len(leaks) - limit
    return "\n".join(lines + ([f"  ... and {more} more groups"] if more > 0 else []))
