"""Dataset ``itw``: In-the-Wild, a ``meta.csv`` (``file,speaker,label``) beside the audio.

The corpus has no splits, so speakers are assigned to splits deterministically, by the shares
in ``speaker_split``: no speaker is in two splits. The metadata file can be given as
``protocol``.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import (
    Problems,
    file_size,
    input_root,
    listing_reader,
    open_listing,
    resolve_path,
)
from fraudprep.inputs.manifest import SPLITS, ManifestError, ManifestRow, parse_label

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

DEFAULT_SPEAKER_SPLIT = dict(zip(SPLITS, (0.7, 0.15, 0.15), strict=True))


def assign_speakers(file_counts: dict[str, int], shares: dict[str, float]) -> dict[str, str]:
    """Deterministic speaker -> split, balancing files toward ``shares``.

    Speakers are visited in an order fixed by a hash of their name (so it does not depend on
    the order of the metadata file) and each goes to the split furthest below its share.
    """
    total_share = sum(shares.values())
    order = sorted(file_counts, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    assigned: dict[str, str] = {}
    filled = Counter({split: 0 for split in shares})
    total = sum(file_counts.values())
    for speaker in order:
        split = max(shares, key=lambda s: shares[s] / total_share * total - filled[s])
        assigned[speaker] = split
        filled[split] += file_counts[speaker]
    return assigned


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    meta = Path(cfg.protocol) if cfg.protocol else root / "meta.csv"
    # Splits follow from the files per speaker, so the metadata is read twice (to count, then
    # to yield) instead of being held: the count pass reports nothing, the second pass does.
    counts = Counter(speaker for _, speaker, _ in _records(meta, root, cfg, Problems("")))
    splits = assign_speakers(counts, cfg.speaker_split)
    for path, speaker, label in _records(meta, root, cfg, problems):
        yield ManifestRow(path, splits[speaker], label, file_size(path), speaker, "", "itw")


read = listing_reader(_listed_rows)


def _records(
    meta: Path, root: Path, cfg: DatasetConfig, problems: Problems
) -> Iterator[tuple[str, str, int]]:
    if not meta.is_file():
        raise ManifestError(f"In-the-Wild metadata {str(meta)!r} not found; set protocol")
    with open_listing(meta) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("file", "speaker", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{meta}: missing column(s) {missing}")
        for line_number, record in enumerate(reader, start=2):
            where = f"{meta}:{line_number}"
            label = parse_label(record["label"], cfg.label_map)
            path = resolve_path(record["file"].strip(), root)
            if label is None:
                problems.add(f"{where}: unknown label {record['label']!r}")
            elif not os.path.lexists(path):
                problems.add(f"{where}: audio file {path!r} does not exist")
            else:
                yield path, record["speaker"].strip(), label
