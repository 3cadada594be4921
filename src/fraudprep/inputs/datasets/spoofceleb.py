"""Dataset ``spoofceleb``: SpoofCeleb (speech deepfakes of VoxCeleb1 speakers, in the wild).

Layout, as released (https://jungjee.github.io/spoofceleb, the paper arXiv:2409.17285; the
paths as the Hugging Face copy DeepFense/SpoofCeleb lists them): ``input_dir`` holds
``flac/{train,development,evaluation}/<attack>/<speaker>/*.flac`` and the per-split metadata
``metadata/{train,development,evaluation}.csv``, one file a line: ``file,speaker,attack`` (a
header first), ``file`` relative to ``flac/<split>/`` (``a00/id10001/xxx-00001-001.flac``).
Attack ``a00`` is bona fide, ``a01``... are the TTS systems. train is training, development
validation, evaluation testing; a split without its metadata file is left empty (with a
warning).

Each listed file must exist and sit in its attack's folder; an attack id that is not ``a``
and two digits is reported with its file and line.
"""

from __future__ import annotations

import csv
import logging
import os
import re
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
from fraudprep.inputs.manifest import FAKE, REAL, ManifestError, ManifestRow

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

PARTS = {"train": "training", "development": "validation", "evaluation": "testing"}
BONA_FIDE_ID = "a00"
ATTACK_ID = re.compile(r"a\d\d")


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    metadata = {part: root / "metadata" / f"{part}.csv" for part in PARTS}
    if not any(path.is_file() for path in metadata.values()):
        raise ManifestError(
            f"{root}: no metadata/{{train,development,evaluation}}.csv; point input_dir at the "
            "SpoofCeleb folder holding flac/ and metadata/"
        )
    for part, split in PARTS.items():
        if not metadata[part].is_file():
            log.warning("No SpoofCeleb metadata %s: %s split left empty", metadata[part], split)
            continue
        yield from _part_rows(metadata[part], root / "flac" / part, split, problems)


def _part_rows(meta: Path, audio: Path, split: str, problems: Problems) -> Iterator[ManifestRow]:
    with open_listing(meta) as handle:
        for line_number, fields in enumerate(csv.reader(handle), start=1):
            fields = [field.strip() for field in fields]
            if not any(fields):
                continue
            where = f"{meta}:{line_number}"
            if len(fields) < 3:
                problems.add(f"{where}: expected file,speaker,attack, found {','.join(fields)!r}")
                continue
            name, speaker, attack = fields[:3]
            if not ATTACK_ID.fullmatch(attack):
                if line_number == 1:
                    continue  # the header
                problems.add(
                    f"{where}: unknown attack id {attack!r} (SpoofCeleb's are a00, bona fide, "
                    "and a01, a02...); fix the line"
                )
                continue
            path = os.path.normpath(audio / name)
            if not os.path.lexists(path):
                problems.add(f"{where}: audio file {path!r} does not exist")
                continue
            if Path(name).parts[0] != attack:
                problems.add(f"{where}: {name!r} is not in the folder of its attack {attack!r}")
                continue
            label = REAL if attack == BONA_FIDE_ID else FAKE
            shown = BONA_FIDE_ATTACK if label == REAL else attack
            yield ManifestRow(path, split, label, file_size(path), speaker, shown, "spoofceleb")


read = listing_reader(_listed_rows)
