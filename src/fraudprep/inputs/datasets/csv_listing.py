"""Dataset ``csv``: any CSV or TSV listing of files with their split and label.

``csv_columns`` names the file's columns (path, split and label are required; speaker and
attack are optional), ``label_map`` adds its label spellings. Splits and labels may be written
in any of the names of :data:`fraudprep.inputs.manifest.SPLIT_ALIASES` and ``LABEL_ALIASES``.
Relative paths are relative to the listing. A ``.tsv`` file is read as tab-separated.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.base.extsort import ExternalSort
from fraudprep.inputs.datasets.common import Problems, file_size, open_listing, resolve_path
from fraudprep.inputs.manifest import (
    SPLITS,
    ManifestError,
    ManifestRow,
    SkippedFile,
    parse_label,
    parse_split,
)

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

DEFAULT_CSV_COLUMNS = {
    "path": "path",
    "split": "split",
    "label": "label",
    "speaker": "speaker",
    "attack": "attack",
}


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
        raise ManifestError(f"listing {str(source)!r} does not exist; fix the listing key")
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
    split = parse_split(fields["split"])
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


def read(
    cfg: DatasetConfig,
    spill_dir: str | os.PathLike[str] | None = None,
    on_skipped: Callable[[SkippedFile], None] | None = None,
) -> Iterator[ManifestRow]:
    # Checked here, not when the rows are first asked for: a missing key is a config error.
    if not cfg.listing:
        raise ManifestError("dataset csv needs listing: the CSV/TSV file to read")
    return iter_manifest_csv(cfg.listing, cfg.csv_columns, cfg.label_map, spill_dir)
