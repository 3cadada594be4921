"""Dataset ``codecfake``: Codecfake (Xie et al., codec-resynthesised and ALM-made speech).

Layout, as the corpus's own repository arranges it (https://github.com/xieyuankun/Codecfake,
README "Data preparing"; audio from Zenodo): ``input_dir`` holds ``label/*.txt`` and the audio,
``train/*.wav``, ``dev/*.wav`` and ``test/<condition>/*.wav`` (``C1``-``C7`` codecs, ``A1``-
``A3`` audio language models). ``label/train.txt`` lists ``train/``, ``label/dev.txt`` ``dev/``
and ``label/<condition>.txt`` ``test/<condition>/``, one file a line: ``name real|fake id``
(the id is the codec or system; the file name may omit ``.wav``). train is training, dev
validation, every test condition testing. Labels may be written as the other readers take
them (plus ``label_map``); bona fide rows get attack ``-``.

Only listed files are read: a warning names each folder whose audio a label file does not
list (with how many files), and each of ``train/``, ``dev/`` and ``test/<condition>/`` that
holds audio but has no label file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import (
    Problems,
    file_size,
    input_root,
    listed_lines,
    listing_reader,
)
from fraudprep.inputs.datasets.scan import BONA_FIDE_ATTACK
from fraudprep.inputs.manifest import REAL, ManifestError, ManifestRow, natural_key, parse_label

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

SPLIT_PARTS = {"train": "training", "dev": "validation"}


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    labels = sorted((root / "label").glob("*.txt"), key=lambda p: natural_key(p.stem))
    if not labels:
        raise ManifestError(
            f"{root}: no label/*.txt; point input_dir at the Codecfake folder holding label/, "
            "train/, dev/ and test/"
        )
    ordered = sorted(labels, key=lambda p: (p.stem not in SPLIT_PARTS, p.stem != "train"))
    for label_file in ordered:
        part = label_file.stem
        if part in SPLIT_PARTS:
            split, audio = SPLIT_PARTS[part], root / part
        else:
            split, audio = "testing", root / "test" / part
        listed = 0
        for row in _label_rows(label_file, audio, split, cfg, problems):
            listed += os.path.dirname(row.path) == os.path.normpath(audio)
            yield row
        unlisted = _audio_count(audio) - listed
        if unlisted > 0:
            log.warning(
                "Codecfake %s: %d audio file(s) not listed in %s, not read",
                audio, unlisted, label_file,
            )  # fmt: skip
    _warn_unlabelled(root, {label.stem for label in labels})


def _audio_count(folder: Path) -> int:
    """The ``.wav`` files directly in ``folder`` (0 if there is no such folder)."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for e in entries if e.name.lower().endswith(".wav") and not e.is_dir())
    except OSError:
        return 0


def _warn_unlabelled(root: Path, stems: set[str]) -> None:
    """A warning per audio folder without its label file: none of its files is read."""
    folders = [(root / part, part) for part in SPLIT_PARTS]
    test = root / "test"
    if test.is_dir():
        conditions = (p for p in test.iterdir() if p.is_dir())
        folders += [(p, p.name) for p in sorted(conditions, key=lambda p: natural_key(p.name))]
    for folder, stem in folders:
        count = 0 if stem in stems else _audio_count(folder)
        if count:
            log.warning(
                "Codecfake %s: %d audio file(s) and no label/%s.txt to list them, not read",
                folder, count, stem,
            )  # fmt: skip


def _label_rows(
    label_file: Path, audio: Path, split: str, cfg: DatasetConfig, problems: Problems
) -> Iterator[ManifestRow]:
    for where, fields, line in listed_lines(label_file):
        if len(fields) < 2:
            problems.add(f"{where}: expected 'name real|fake id', found {line!r}")
            continue
        label = parse_label(fields[1], cfg.label_map)
        if label is None:
            problems.add(
                f"{where}: unknown label {fields[1]!r} (use real or fake, or add it to label_map)"
            )
            continue
        name = fields[0] if fields[0].lower().endswith(".wav") else fields[0] + ".wav"
        path = os.path.normpath(audio / name)
        if not os.path.lexists(path):
            problems.add(f"{where}: audio file {path!r} does not exist")
            continue
        attack = BONA_FIDE_ATTACK if label == REAL else (fields[2] if len(fields) > 2 else "")
        yield ManifestRow(path, split, label, file_size(path), "", attack, "codecfake")


read = listing_reader(_listed_rows)
