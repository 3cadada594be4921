"""The manifest: one table of every input file with its split and label.

Every dataset layout is turned into this one table (``path,split,label,size``), sorted
deterministically, before any feature is computed. Later steps read it by row ranges.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from fraudprep.atomic import atomic_write

log = logging.getLogger(__name__)

SPLITS = ("training", "validation", "testing")
LABELS = {"real": 0, "fake": 1}
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".m4a"})
MANIFEST_COLUMNS = ("path", "split", "label", "size")

# Names users' own manifests commonly use for the same splits and classes.
SPLIT_ALIASES = {
    "training": "training", "train": "training",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "testing": "testing", "test": "testing", "eval": "testing",
}  # fmt: skip
LABEL_ALIASES = {
    "0": 0, "real": 0, "bonafide": 0, "bona-fide": 0, "genuine": 0,
    "1": 1, "fake": 1, "spoof": 1, "synthetic": 1,
}  # fmt: skip
MAX_LISTED_PROBLEMS = 10


class ManifestError(ValueError):
    """The input cannot become a manifest; the message names the file and what to fix."""


class ManifestRow(NamedTuple):
    path: str
    split: str
    label: int
    size: int


def natural_key(text: str) -> tuple:
    """Sort key under which ``clip2`` comes before ``clip10``; ties broken by the exact text."""
    parts = re.split(r"(\d+)", text)
    folded = tuple(int(part) if i % 2 else part.casefold() for i, part in enumerate(parts))
    return (folded, text)


def row_sort_key(row: ManifestRow) -> tuple:
    return (SPLITS.index(row.split), natural_key(row.path))


def is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def file_size(path: str) -> int:
    """Size in bytes, or -1 for an entry that is no regular file (left for extraction to report)."""
    try:
        return os.stat(path).st_size if os.path.isfile(path) else -1
    except OSError:
        return -1


def _child_dirs_by_name(parent: Path) -> dict[str, Path]:
    # FoR trees from different tools differ in case ("Training", "REAL"): match case-insensitively.
    if not parent.is_dir():
        return {}
    return {entry.name.lower(): Path(entry.path) for entry in os.scandir(parent) if entry.is_dir()}


def _walk_audio(class_dir: Path) -> Iterator[tuple[str, bool]]:
    """Yield (path, is_audio) for every entry below ``class_dir`` except plain directories."""
    for root, dirs, files in os.walk(class_dir):
        dirs.sort()
        # A directory (or a link to one) named like audio is a trap that must be reported.
        names = sorted(files) + [d for d in dirs if is_audio_name(d)]
        for name in names:
            yield os.path.join(root, name), is_audio_name(name)


def scan_for_tree(input_dir: str | os.PathLike[str]) -> list[ManifestRow]:
    """Find ``{training,validation,testing}/{real,fake}/**`` audio files in a FoR-layout tree."""
    root = Path(input_dir)
    if not root.is_dir():
        raise ManifestError(
            f"input_dir {str(root)!r} does not exist or is not a directory; set input_dir to a "
            "tree laid out as training|validation|testing/real|fake/<audio files>, or set manifest"
        )
    rows: list[ManifestRow] = []
    skipped: list[str] = []
    split_dirs = _child_dirs_by_name(root)
    for split in SPLITS:
        class_dirs = _child_dirs_by_name(split_dirs[split]) if split in split_dirs else {}
        for label_name, label in LABELS.items():
            if label_name not in class_dirs:
                log.warning("No %s/%s directory under %s", split, label_name, root)
                continue
            for path, is_audio in _walk_audio(class_dirs[label_name]):
                if is_audio:
                    rows.append(ManifestRow(path, split, label, file_size(path)))
                else:
                    skipped.append(path)
    if skipped:
        log.warning(
            "Skipped %d file(s) without an audio extension (%s), e.g. %s",
            len(skipped),
            ", ".join(sorted(AUDIO_EXTENSIONS)),
            skipped[:3],
        )
    if not rows:
        raise ManifestError(
            f"No audio files found under {str(root)!r}: expected "
            "training|validation|testing/real|fake/*.wav|flac|mp3|ogg|m4a"
        )
    return sorted(rows, key=row_sort_key)


def _problem_message(source: str, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more else ""
    return f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + tail


def read_manifest_csv(manifest_path: str | os.PathLike[str]) -> list[ManifestRow]:
    """Read a user's CSV (``path,split,label`` at least) into checked, sorted manifest rows.

    Relative paths are taken relative to the CSV's own directory, so a manifest can travel
    with its data.
    """
    source = Path(manifest_path)
    if not source.is_file():
        raise ManifestError(f"manifest {str(source)!r} does not exist; fix the manifest key")
    base = source.parent
    rows: list[ManifestRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    with open(source, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("path", "split", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(
                f"{source}: missing column(s) {missing}; the header must contain path,split,label "
                f"(found {reader.fieldnames})"
            )
        for line_number, record in enumerate(reader, start=2):
            row = _checked_row(record, base, line_number, seen, problems)
            if row is not None:
                rows.append(row)
    if problems:
        raise ManifestError(_problem_message(str(source), problems))
    if not rows:
        raise ManifestError(f"{source}: no rows")
    return sorted(rows, key=row_sort_key)


def _checked_row(
    record: dict[str, str], base: Path, line_number: int, seen: dict[str, int], problems: list[str]
) -> ManifestRow | None:
    where = f"line {line_number}"
    raw_path = (record.get("path") or "").strip()
    split = SPLIT_ALIASES.get((record.get("split") or "").strip().lower())
    label = LABEL_ALIASES.get((record.get("label") or "").strip().lower())
    if not raw_path:
        problems.append(f"{where}: empty path")
        return None
    if split is None:
        problems.append(f"{where}: unknown split {record.get('split')!r} (use {'/'.join(SPLITS)})")
    if label is None:
        problems.append(f"{where}: unknown label {record.get('label')!r} (use 0/real or 1/fake)")
    path = raw_path if os.path.isabs(raw_path) else os.path.normpath(os.path.join(base, raw_path))
    if path in seen:
        problems.append(f"{where}: duplicate path {raw_path!r} (first on line {seen[path]})")
    seen.setdefault(path, line_number)
    if not os.path.lexists(path):
        problems.append(f"{where}: {path!r} does not exist")
    if split is None or label is None:
        return None
    return ManifestRow(path, split, label, file_size(path))


def write_manifest(rows: Iterable[ManifestRow], path: str | os.PathLike[str]) -> int:
    """Write rows as the manifest CSV (atomically); return how many were written."""
    count = 0
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def iter_manifest(
    path: str | os.PathLike[str], start: int = 0, stop: int | None = None
) -> Iterator[ManifestRow]:
    """Stream rows ``start:stop`` (0-based, header excluded) without loading the whole table."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if tuple(header or ()) != MANIFEST_COLUMNS:
            raise ManifestError(f"{path}: not a fraudprep manifest (header {header})")
        for record in itertools.islice(reader, start, stop):
            yield ManifestRow(record[0], record[1], int(record[2]), int(record[3]))


def build_manifest(
    output_path: str | os.PathLike[str],
    input_dir: str | None = None,
    manifest_csv: str | None = None,
) -> int:
    """Write the manifest from a user's CSV if given, else by scanning ``input_dir``."""
    if manifest_csv:
        rows = read_manifest_csv(manifest_csv)
        source = f"manifest {manifest_csv}"
    elif input_dir:
        rows = scan_for_tree(input_dir)
        source = f"input_dir {input_dir}"
    else:
        raise ManifestError("Set input_dir (a FoR-layout tree) or manifest (a CSV) in the config")
    count = write_manifest(rows, output_path)
    for split in SPLITS:
        for label_name, label in LABELS.items():
            n = sum(1 for r in rows if r.split == split and r.label == label)
            log.info("%s/%s: %d files", split, label_name, n)
    log.info("Manifest of %d files from %s written to %s", count, source, output_path)
    return count


def _rows_digest(rows: Iterable[ManifestRow]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        try:
            mtime = os.lstat(row.path).st_mtime_ns
        except OSError:
            mtime = -1
        digest.update(f"{row.path}\0{row.split}\0{row.label}\0{row.size}\0{mtime}\n".encode())
    return digest.hexdigest()


def source_fingerprint(input_dir: str | None = None, manifest_csv: str | None = None) -> str:
    """Check the input (raising :class:`ManifestError`) and digest its files' paths, labels,
    sizes and modification times.

    The workflow passes it as a parameter of the manifest step, so problems surface before any
    job runs; adding, removing or replacing a file rebuilds the manifest, and an untouched
    input rebuilds nothing.
    """
    rows = read_manifest_csv(manifest_csv) if manifest_csv else scan_for_tree(input_dir or "")
    return _rows_digest(rows)
