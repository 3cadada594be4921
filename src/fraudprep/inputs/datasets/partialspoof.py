"""Dataset ``partialspoof``: PartialSpoof (utterances with spoofed segments spliced in).

Layout, as released on Zenodo (PartialSpoof v1.2) and as the data preparation of the authors'
recipes reads it (https://github.com/nii-yamagishilab/PartialSpoof): ``input_dir`` is the
``database`` folder, holding ``{train,dev,eval}/con_wav/*.wav``,
``protocols/PartialSpoof_LA_cm_protocols/PartialSpoof.LA.cm.{train,dev,eval}.trl.txt``
(ASVspoof-style lines ``SPEAKER FILE - - bonafide|spoof``) and ``segment_labels/``. train is
training, dev validation, eval testing; a missing protocol leaves its split empty (with a
warning).

Rows carry the utterance label only: an utterance with any spoofed segment is fake. The
segment labels (``segment_labels/<part>_seglab_<resolution>.npy``) are not read here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, input_root, listing_reader
from fraudprep.inputs.datasets.protocol import parse_protocol
from fraudprep.inputs.manifest import SPLIT_ALIASES, ManifestError, ManifestRow

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

PARTS = ("train", "dev", "eval")
PROTOCOLS = "protocols/PartialSpoof_LA_cm_protocols"


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    if not (root / PROTOCOLS).is_dir() and (root / "database" / PROTOCOLS).is_dir():
        root = root / "database"  # the folder the archive unpacks to
    if not (root / PROTOCOLS).is_dir():
        raise ManifestError(
            f"{root}: no {PROTOCOLS}/ folder; point input_dir at PartialSpoof's database folder"
        )
    for part in PARTS:
        protocol = root / PROTOCOLS / f"PartialSpoof.LA.cm.{part}.trl.txt"
        split = SPLIT_ALIASES[part]
        if not protocol.is_file():
            log.warning("No PartialSpoof protocol %s: %s split left empty", protocol, split)
            continue
        audio = [root / part / "con_wav"]
        yield from parse_protocol(protocol, split, audio, "partialspoof", problems, ".wav")


read = listing_reader(_listed_rows)
