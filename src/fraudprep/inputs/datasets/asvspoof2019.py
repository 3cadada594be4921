"""Dataset ``asvspoof2019``: the LA or PA directory of ASVspoof 2019.

``ASVspoof2019_<T>_cm_protocols/ASVspoof2019.<T>.cm.{train.trn,dev.trl,eval.trl}.txt`` list
the files of ``ASVspoof2019_<T>_{train,dev,eval}/flac/``; train is training, dev validation
and eval testing. A missing protocol leaves its split empty (with a warning).
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

# Each part's protocol file name ends with its part and a suffix of its own.
PROTOCOL_NAMES = {"train": "train.trn", "dev": "dev.trl", "eval": "eval.trl"}


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    track = next(
        (t for t in ("LA", "PA") if (root / f"ASVspoof2019_{t}_cm_protocols").is_dir()), None
    )
    if track is None:
        raise ManifestError(
            f"{root}: no ASVspoof2019_LA_cm_protocols or ASVspoof2019_PA_cm_protocols directory; "
            "set input_dir to the LA or PA folder of ASVspoof 2019"
        )
    for part, name in PROTOCOL_NAMES.items():
        split = SPLIT_ALIASES[part]
        protocol = (
            root / f"ASVspoof2019_{track}_cm_protocols" / f"ASVspoof2019.{track}.cm.{name}.txt"
        )
        if not protocol.exists():
            log.warning("No %s protocol %s: %s split left empty", split, protocol, split)
            continue
        audio = root / f"ASVspoof2019_{track}_{part}" / "flac"
        yield from parse_protocol(protocol, split, [audio], "asvspoof2019", problems)


read = listing_reader(_listed_rows)
