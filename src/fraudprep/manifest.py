"""The manifest: one table of every input file with its split and label.

Every dataset layout is turned into this one table (``path,split,label,size``), sorted
deterministically, before any feature is computed. Later steps read it by row ranges.
"""

from __future__ import annotations

import csv
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
MANIFEST_COLUMNS = ("path", "split", "label", "size", "speaker", "attack", "source", "hash")

# Names users' own manifests commonly use for the same splits and classes.
SPLIT_ALIASES = {
    "training": "training",
    "train": "training",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "testing": "testing",
    "test": "testing",
    "eval": "testing",
}
LABEL_ALIASES = {
    "0": 0,
    "real": 0,
    "bonafide": 0,
    "bona-fide": 0,
    "genuine": 0,
    "1": 1,
    "fake": 1,
    "spoof": 1,
    "synthetic": 1,
}
MAX_LISTED_PROBLEMS = 10


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
                    rows.append(ManifestRow(path, split, label, file_size(path), source="for"))
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


class Problems:
    """Collects every problem in an input (with file and line) to report them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_LISTED_PROBLEMS]
        more = len(self.items) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise ManifestError(
            f"{self.source}: {len(self.items)} problem(s):\n  " + "\n  ".join(shown) + tail
        )


def parse_label(text: str, label_map: dict[str, str] | None = None) -> int | None:
    """0 (real) or 1 (fake) from a label as datasets spell it, or None if unknown."""
    key = (text or "").strip().lower()
    mapped = {k.lower(): v for k, v in (label_map or {}).items()}.get(key, key)
    return LABEL_ALIASES.get(str(mapped).lower())


def resolve_path(raw_path: str, base: Path) -> str:
    """Relative paths are relative to the file that lists them, so listings travel with data."""
    return raw_path if os.path.isabs(raw_path) else os.path.normpath(os.path.join(base, raw_path))


DEFAULT_CSV_COLUMNS = {
    "path": "path",
    "split": "split",
    "label": "label",
    "speaker": "speaker",
    "attack": "attack",
}


def read_manifest_csv(
    manifest_path: str | os.PathLike[str],
    columns: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
) -> list[ManifestRow]:
    """Read a user's CSV or TSV into checked, sorted manifest rows.

    ``columns`` maps our names (path, split, label, speaker, attack) to the file's column
    names; path, split and label are required. ``label_map`` adds label spellings
    (e.g. ``{"human": "real", "tts": "fake"}``).
    """
    source = Path(manifest_path)
    if not source.is_file():
        raise ManifestError(f"manifest {str(source)!r} does not exist; fix the manifest key")
    columns = {**DEFAULT_CSV_COLUMNS, **(columns or {})}
    problems = Problems(str(source))
    rows: list[ManifestRow] = []
    seen: dict[str, int] = {}
    with open(source, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if source.suffix.lower() == ".tsv" else ",")
        required = [columns[c] for c in ("path", "split", "label")]
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(
                f"{source}: missing column(s) {missing}; the header must contain "
                f"{','.join(required)} (found {reader.fieldnames}); see csv_columns in the config"
            )
        for line_number, record in enumerate(reader, start=2):
            fields = {ours: record.get(theirs) or "" for ours, theirs in columns.items()}
            row = _checked_row(
                fields, source.parent, f"line {line_number}", seen, problems, label_map
            )
            if row is not None:
                rows.append(row)
    problems.raise_if_any()
    if not rows:
        raise ManifestError(f"{source}: no rows")
    return sorted(rows, key=row_sort_key)


def _checked_row(
    fields: dict[str, str],
    base: Path,
    where: str,
    seen: dict[str, int | str],
    problems: Problems,
    label_map: dict[str, str] | None = None,
    source: str = "csv",
) -> ManifestRow | None:
    raw_path = fields["path"].strip()
    split = SPLIT_ALIASES.get(fields["split"].strip().lower())
    label = parse_label(fields["label"], label_map)
    if not raw_path:
        problems.add(f"{where}: empty path")
        return None
    if split is None:
        problems.add(f"{where}: unknown split {fields['split']!r} (use {'/'.join(SPLITS)})")
    if label is None:
        problems.add(
            f"{where}: unknown label {fields['label']!r} (use 0/real/bonafide or 1/fake/spoof, "
            "or add it to label_map)"
        )
    path = resolve_path(raw_path, base)
    if path in seen:
        problems.add(f"{where}: duplicate path {raw_path!r} (first on {seen[path]})")
    seen.setdefault(path, where)
    if not os.path.lexists(path):
        problems.add(f"{where}: {path!r} does not exist")
    if split is None or label is None:
        return None
    return ManifestRow(
        path,
        split,
        label,
        file_size(path),
        fields.get("speaker", "").strip(),
        fields.get("attack", "").strip(),
        source,
    )


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
            yield ManifestRow(record[0], record[1], int(record[2]), int(record[3]), *record[4:])
