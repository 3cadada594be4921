"""Dataset ``codecfake``: Codecfake (Xie et al., codec-resynthesised and ALM-made speech).

Layout, as the corpus's own repository arranges it (https://github.com/xieyuankun/Codecfake,
README "Data preparing"; audio from Zenodo): ``input_dir`` holds ``label/*.txt`` and the audio,
``train/*.wav``, ``dev/*.wav`` and ``test/<condition>/*.wav`` (``C1``-``C7`` codecs, ``A1``-
``A3`` audio language models). ``label/train.txt`` lists ``train/``, ``label/dev.txt`` ``dev/``
and ``label/<condition>.txt`` ``test/<condition>/``, one file a line: ``name real|fake id``
(the id is the codec or system; the file name may omit ``.wav``). train is training, dev
validation, every test condition testing. Labels may be written as the other readers take
them (plus ``label_map``); bona fide rows get attack ``-``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import (
    Problems,
    file_size,
    input_root,
    listing_reader,
    open_listing,
)
from fraudprep.inputs.datasets.scan import BONA_FIDE_ATTACK
from fraudprep.inputs.manifest import REAL, ManifestError, ManifestRow, natural_key, parse_label

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

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
        yield from _label_rows(label_file, audio, split, cfg, problems)


def _label_rows(
    label_file: Path, audio: Path, split: str, cfg: DatasetConfig, problems: Problems
) -> Iterator[ManifestRow]:
    with open_listing(label_file) as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            where = f"{label_file}:{line_number}"
            if len(fields) < 2:
                problems.add(f"{where}: expected 'name real|fake id', found {line.strip()!r}")
                continue
            label = parse_label(fields[1], cfg.label_map)
            if label is None:
                problems.add(
                    f"{where}: unknown label {fields[1]!r} (use real or fake, or add it to "
                    "label_map)"
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
