"""Dataset ``asvspoof5``: ASVspoof 5.

Protocols ``ASVspoof5.{train,dev,eval}*.tsv`` (train is training, dev validation, eval
testing) list the files of ``flac_{T,D,E}*/``, the letter being the part's initial.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, input_root, listing_reader
from fraudprep.inputs.datasets.protocol import parse_protocol
from fraudprep.inputs.manifest import SPLIT_ALIASES, ManifestError, ManifestRow

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

PARTS = ("train", "dev", "eval")


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    found = False
    for part in PARTS:
        for protocol in sorted(root.glob(f"ASVspoof5.{part}*.tsv")):
            found = True
            letter = part[0].upper()
            audio_dirs = sorted(d for d in root.glob(f"flac_{letter}*") if d.is_dir())
            yield from parse_protocol(
                protocol,
                SPLIT_ALIASES[part],
                audio_dirs or [root / f"flac_{letter}"],
                "asvspoof5",
                problems,
            )
    if not found:
        raise ManifestError(f"{root}: no ASVspoof5.train/dev/eval*.tsv protocol files")


read = listing_reader(_listed_rows)
