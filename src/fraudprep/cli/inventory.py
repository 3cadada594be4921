"""What the input holds, counted from the rows the manifest step would write.

The rows come from the readers the manifest step uses
(:func:`fraudprep.inputs.corpora.iter_source_rows`: one dataset, or every corpus with its
splits and caps applied), with the same checks, so the counts are the manifest's. They are
counted as they stream: nothing is sorted, hashed or written. The folder reader looks at each
file's name and size (``stat``), never its bytes.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fraudprep.inputs.corpora import SourceConfig
from fraudprep.inputs.corpora_rows import iter_source_rows
from fraudprep.inputs.manifest import LABEL_NAMES, SPLITS, ManifestRow, SkippedFile


@dataclass
class Inventory:
    """Counts of the input's files, and which of them earlier runs could not use."""

    files: Counter[tuple[str, str]] = field(default_factory=Counter)  # (split, "real"/"fake")
    attacks: Counter[tuple[str, str]] = field(default_factory=Counter)  # (attack, split)
    bytes: int = 0
    skipped: int = 0  # files under class folders without an audio extension
    known_failures: Counter[str] = field(default_factory=Counter)  # model -> files
    corpora: Counter[tuple[str, str]] = field(default_factory=Counter)  # (corpus, "real"/"fake")

    @property
    def total(self) -> int:
        return sum(self.files.values())

    def split_total(self, split: str) -> int:
        return sum(self.files[split, label] for label in LABEL_NAMES.values())

    @property
    def per_split(self) -> dict[str, int]:
        """Files per split, in manifest order (the manifest is sorted by split first)."""
        return {split: self.split_total(split) for split in SPLITS}

    def add(self, row: ManifestRow, failed_in: Iterable[str]) -> None:
        self.files[row.split, LABEL_NAMES[row.label]] += 1
        self.attacks[row.attack, row.split] += 1
        if row.corpus:
            self.corpora[row.corpus, LABEL_NAMES[row.label]] += 1
        self.bytes += max(row.size, 0)  # -1: not a regular file (extraction reports it)
        if failed_in:
            self.known_failures.update(failed_in)


def take_inventory(
    dataset: SourceConfig, failure_paths: Mapping[str, set[str]] | None = None
) -> Inventory:
    """Count the rows of ``dataset`` (one, or corpora); ``failure_paths`` (model -> paths)
    marks the files an earlier run listed as failures. Raises the readers' ManifestError, as
    the run would."""
    failure_paths = failure_paths or {}
    inventory = Inventory()

    def count_skipped(_: SkippedFile) -> None:
        inventory.skipped += 1

    for row in iter_source_rows(dataset, on_skipped=count_skipped):
        failed_in = [model for model, paths in failure_paths.items() if row.path in paths]
        inventory.add(row, failed_in)
    return inventory


def read_failure_paths(failures_table: str | Path) -> set[str] | None:
    """The paths in a model's ``failures.csv``; None if there is no such table."""
    try:
        with open(failures_table, newline="", encoding="utf-8") as handle:
            return {record["path"] for record in csv.DictReader(handle) if record.get("path")}
    except FileNotFoundError:
        return None
