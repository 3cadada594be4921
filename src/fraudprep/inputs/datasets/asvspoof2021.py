"""Dataset ``asvspoof2021``: the evaluation sets of ASVspoof 2021 (LA, DF, PA), all testing.

Audio is in ``ASVspoof2021_<T>_eval/flac/``; the labels are in the separately published keys'
``trial_metadata.txt``, looked for under ``keys/<T>/CM/`` (and where the key archives unpack)
unless the config names it as ``protocol``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, input_root, listing_reader
from fraudprep.inputs.datasets.protocol import parse_protocol
from fraudprep.inputs.manifest import TESTING, ManifestError, ManifestRow

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    tracks = [t for t in ("LA", "DF", "PA") if (root / f"ASVspoof2021_{t}_eval").is_dir()]
    if not tracks:
        raise ManifestError(f"{root}: no ASVspoof2021_LA_eval, _DF_eval or _PA_eval directory")
    for track in tracks:
        protocol = (
            Path(cfg.protocol)
            if cfg.protocol
            else _first_existing(
                [
                    root / "keys" / track / "CM" / "trial_metadata.txt",
                    root / f"ASVspoof2021_{track}_eval" / "keys" / "CM" / "trial_metadata.txt",
                    root / f"{track}-keys-full" / "keys" / "CM" / "trial_metadata.txt",
                ],
                f"ASVspoof 2021 {track} trial_metadata.txt",
            )
        )
        audio = root / f"ASVspoof2021_{track}_eval" / "flac"
        yield from parse_protocol(protocol, TESTING, [audio], "asvspoof2021", problems)


read = listing_reader(_listed_rows)


def _first_existing(candidates: list[Path], what: str) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ManifestError(f"{what} not found; looked for {tried}; set protocol in the config")
