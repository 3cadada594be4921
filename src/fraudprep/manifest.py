"""The manifest: one table of every input file with its split and label.

Every dataset layout is turned into this one table (``path,split,label,size``), sorted
deterministically, before any feature is computed. Later steps read it by row ranges.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from fraudprep.atomic import atomic_write
from fraudprep.extsort import ExternalSort

log = logging.getLogger(__name__)

SPLITS = ("training", "validation", "testing")
LABELS = {"real": 0, "fake": 1}
# Extensions the scanner of a folder tree takes as audio: what libsndfile reads, then what
# FFmpeg's decoders add (fraudprep.audio_io picks the decoder by content, not by extension).
LIBSNDFILE_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au", ".snd"}
    | {".caf", ".w64", ".rf64", ".sph", ".nist", ".voc"}
)
FFMPEG_EXTENSIONS = frozenset(
    {".mp3", ".mp2", ".m4a", ".m4b", ".mp4", ".aac", ".mov", ".3gp", ".mkv", ".mka", ".webm"}
    | {".wma", ".asf", ".amr", ".awb", ".ac3", ".eac3", ".wv", ".ape", ".gsm"}
)
AUDIO_EXTENSIONS = LIBSNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
MANIFEST_COLUMNS = ("path", "split", "label", "size", "speaker", "attack", "source", "hash")
SKIPPED_COLUMNS = ("path", "split", "label", "reason")
NOT_AUDIO_EXTENSION = "not an audio extension"

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


@contextlib.contextmanager
def open_listing(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A user's listing (CSV, TSV, protocol, meta.csv) as text: UTF-8, with or without the
    byte-order mark spreadsheet programs write; any other encoding is one clear error."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            yield handle
        except UnicodeDecodeError as error:
            byte = error.object[error.start : error.start + 1].hex()
            raise ManifestError(
                f"{path}: not UTF-8 text (byte 0x{byte} cannot be UTF-8); save it as UTF-8, "
                f"e.g. iconv -f latin1 -t utf-8 {path} > fixed.csv"
            ) from error


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
    """Yield (path, is_audio) for every entry below ``class_dir`` except plain directories.

    The order is the file system's: callers sort. ``os.scandir`` streams each directory, where
    ``os.walk`` would first list it whole (a million files in one folder is ~100 MB of names).
    As with ``os.walk``, links to directories are not followed and unreadable ones skipped.
    """
    pending = [str(class_dir)]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    yield entry.path, is_audio_name(entry.name)
                    continue
                if not entry.is_symlink():
                    pending.append(entry.path)
                # A directory (or a link to one) named like audio is a trap that must be reported.
                if is_audio_name(entry.name):
                    yield entry.path, True


class SkippedFile(NamedTuple):
    """A file under a class folder that is not taken as audio: listed, never dropped silently."""

    path: str
    split: str
    label: int
    reason: str


def skipped_sort_key(skipped: SkippedFile) -> tuple:
    return (SPLITS.index(skipped.split), natural_key(skipped.path))


def iter_for_tree(
    input_dir: str | os.PathLike[str], on_skipped: Callable[[SkippedFile], None] | None = None
) -> Iterator[ManifestRow]:
    """Rows of the audio files in a FoR-layout tree, unsorted, streamed (see scan_for_tree).

    Every other file under a class folder is passed to ``on_skipped`` with the reason.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise ManifestError(
            f"input_dir {str(root)!r} does not exist or is not a directory; set input_dir to a "
            "tree laid out as training|validation|testing/real|fake/<audio files>, or set manifest"
        )
    found, skipped, examples = 0, 0, []
    split_dirs = _child_dirs_by_name(root)
    for split in SPLITS:
        class_dirs = _child_dirs_by_name(split_dirs[split]) if split in split_dirs else {}
        for label_name, label in LABELS.items():
            if label_name not in class_dirs:
                log.warning("No %s/%s directory under %s", split, label_name, root)
                continue
            for path, is_audio in _walk_audio(class_dirs[label_name]):
                if is_audio:
                    found += 1
                    yield ManifestRow(path, split, label, file_size(path), source="for")
                else:
                    skipped += 1
                    # Only a few examples are kept (the smallest, so the log is deterministic).
                    examples = sorted([*examples, path])[:3]
                    if on_skipped is not None:
                        on_skipped(SkippedFile(path, split, label, NOT_AUDIO_EXTENSION))
    if skipped:
        log.warning(
            "Skipped %d file(s) without an audio extension, e.g. %s (audio extensions: %s)",
            skipped,
            examples,
            " ".join(sorted(AUDIO_EXTENSIONS)),
        )
    if not found:
        raise ManifestError(
            f"No audio files found under {str(root)!r}: expected "
            "training|validation|testing/real|fake/<audio files> with one of the extensions "
            + " ".join(sorted(AUDIO_EXTENSIONS))
        )


def scan_for_tree(input_dir: str | os.PathLike[str]) -> list[ManifestRow]:
    """Find ``{training,validation,testing}/{real,fake}/**`` audio files in a FoR-layout tree.

    Sorted, in memory: for small trees and tests; the manifest step streams iter_for_tree.
    """
    return sorted(iter_for_tree(input_dir), key=row_sort_key)


class Problems:
    """Collects every problem in an input (with file and line) to report them all at once.

    Only the first ``MAX_LISTED_PROBLEMS`` (by ``at``, e.g. the line number, then by arrival)
    are kept, and the rest counted: a million bad lines must not become a million strings.
    ``at`` lets problems found later (duplicates, after a sort) still be listed in line order.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0
        self._kept: list[tuple[int, int, str]] = []  # max-heap of (-at, -arrival, message)

    def add(self, message: str, at: int | None = None) -> None:
        self.count += 1
        order = self.count if at is None else at
        entry = (-order, -self.count, message)
        if len(self._kept) < MAX_LISTED_PROBLEMS:
            heapq.heappush(self._kept, entry)
        elif entry > self._kept[0]:  # comes before the last one kept
            heapq.heapreplace(self._kept, entry)

    @property
    def items(self) -> list[str]:
        """The problems kept, in order."""
        return [message for _, _, message in sorted(self._kept, reverse=True)]

    def raise_if_any(self) -> None:
        if not self.count:
            return
        shown = self.items
        more = self.count - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise ManifestError(
            f"{self.source}: {self.count} problem(s):\n  " + "\n  ".join(shown) + tail
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
    """Read a user's CSV or TSV into checked, sorted manifest rows (in memory; see
    :func:`iter_manifest_csv` for the streaming reader and the arguments)."""
    return sorted(iter_manifest_csv(manifest_path, columns, label_map), key=row_sort_key)


def iter_manifest_csv(
    manifest_path: str | os.PathLike[str],
    columns: dict[str, str] | None = None,
    label_map: dict[str, str] | None = None,
    spill_dir: str | os.PathLike[str] | None = None,
) -> Iterator[ManifestRow]:
    """Checked rows of a user's CSV or TSV, in file order, streamed.

    ``columns`` maps our names (path, split, label, speaker, attack) to the file's column
    names; path, split and label are required. ``label_map`` adds label spellings
    (e.g. ``{"human": "real", "tts": "fake"}``). Problems in rows raise :class:`ManifestError`
    after the last row, all listed together; duplicate paths are found by an external sort
    (temporary files in ``spill_dir``), so memory does not grow with the file.
    """
    source = Path(manifest_path)
    if not source.is_file():
        raise ManifestError(f"manifest {str(source)!r} does not exist; fix the manifest key")
    columns = {**DEFAULT_CSV_COLUMNS, **(columns or {})}
    problems = Problems(str(source))
    count = 0
    with (
        open_listing(source) as handle,
        ExternalSort(spill_dir=spill_dir) as paths,
    ):
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
            row = _checked_row(fields, source.parent, line_number, paths, problems, label_map)
            if row is not None:
                count += 1
                yield row
        _report_duplicates(paths, problems)
    problems.raise_if_any()
    if not count:
        raise ManifestError(f"{source}: no rows")


def _report_duplicates(paths: Iterable[tuple[str, int, str]], problems: Problems) -> None:
    """Report every repeat of a path; ``paths`` is (path, line, path as written), sorted, so
    the repeats of a path follow its first line."""
    first_path, first_line = None, 0
    for path, line_number, raw_path in paths:
        if path != first_path:
            first_path, first_line = path, line_number
            continue
        problems.add(
            f"line {line_number}: duplicate path {raw_path!r} (first on line {first_line})",
            at=line_number,
        )


def _checked_row(
    fields: dict[str, str],
    base: Path,
    line_number: int,
    paths: ExternalSort[tuple[str, int, str]],
    problems: Problems,
    label_map: dict[str, str] | None = None,
    source: str = "csv",
) -> ManifestRow | None:
    where = f"line {line_number}"
    raw_path = fields["path"].strip()
    split = SPLIT_ALIASES.get(fields["split"].strip().lower())
    label = parse_label(fields["label"], label_map)
    if not raw_path:
        problems.add(f"{where}: empty path", at=line_number)
        return None
    if "\0" in raw_path:
        problems.add(f"{where}: the path contains a NUL byte: {raw_path!r}", at=line_number)
        return None
    if split is None:
        problems.add(
            f"{where}: unknown split {fields['split']!r} (use {'/'.join(SPLITS)})", at=line_number
        )
    if label is None:
        problems.add(
            f"{where}: unknown label {fields['label']!r} (use 0/real/bonafide or 1/fake/spoof, "
            "or add it to label_map)",
            at=line_number,
        )
    path = resolve_path(raw_path, base)
    paths.add((path, line_number, raw_path))  # duplicates are found once all lines are read
    if not os.path.lexists(path):
        problems.add(f"{where}: {path!r} does not exist", at=line_number)
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
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        return write_manifest_rows(rows, handle)


def write_manifest_rows(rows: Iterable[ManifestRow], handle: IO[str]) -> int:
    """Write the header and rows to an open file; return how many rows were written."""
    return _write_table(MANIFEST_COLUMNS, rows, handle)


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
        if tuple(header or ()) != MANIFEST_COLUMNS:
            raise ManifestError(f"{path}: not a fraudprep manifest (header {header})")
        for record in itertools.islice(reader, start, stop):
            yield ManifestRow(record[0], record[1], int(record[2]), int(record[3]), *record[4:])
