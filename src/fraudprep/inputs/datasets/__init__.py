"""Dataset readers: each corpus's own layout and listing files -> manifest rows.

``dataset`` in the config names the reader; each is one module here:

- ``for`` (:mod:`.folder`): Fake-or-Real trees, ``{training,validation,testing}/{real,fake}/``.
- ``asvspoof2019`` (:mod:`.asvspoof2019`), ``asvspoof2021`` (:mod:`.asvspoof2021`) and
  ``asvspoof5`` (:mod:`.asvspoof5`): the ASVspoof corpora, from their protocol files
  (:mod:`.protocol`).
- ``itw`` (:mod:`.in_the_wild`): In-the-Wild, split by speaker.
- ``csv`` (:mod:`.csv_listing`): any CSV/TSV naming each file's split and label.

Every reader is called alike (:class:`Reader`); :mod:`fraudprep.inputs.manifest_build` turns the
rows of the configured one into ``manifest.csv``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from fraudprep.inputs.datasets import (
    asvspoof5,
    asvspoof2019,
    asvspoof2021,
    codecfake,
    csv_listing,
    dfadd,
    folder,
    in_the_wild,
    mailabs,
    mlaad,
    partialspoof,
    path_pattern,
    spoofceleb,
    wavefake,
)
from fraudprep.inputs.datasets.in_the_wild import DEFAULT_SPEAKER_SPLIT
from fraudprep.inputs.manifest import ManifestError, ManifestRow, SkippedFile


class Reader(Protocol):
    def __call__(
        self,
        cfg: DatasetConfig,
        spill_dir: str | os.PathLike[str] | None = None,
        on_skipped: Callable[[SkippedFile], None] | None = None,
    ) -> Iterator[ManifestRow]:
        """Checked rows of the dataset ``cfg`` describes, unsorted, streamed.

        Files a folder scan does not take as audio go to ``on_skipped`` (listings name their
        files, so only the ``for`` layout skips any). Problems raise :class:`ManifestError`;
        those found row by row (a missing file, a bad label, a duplicate path) only after the
        last row, all listed together. Duplicate checks sort externally, with temporary files
        in ``spill_dir`` (default: the system's).
        """
        ...


READERS: dict[str, Reader] = {
    "for": folder.read,
    "asvspoof2019": asvspoof2019.read,
    "asvspoof2021": asvspoof2021.read,
    "asvspoof5": asvspoof5.read,
    "itw": in_the_wild.read,
    "csv": csv_listing.read,
    "pattern": path_pattern.read,
    "mlaad": mlaad.read,
    "mailabs": mailabs.read,
    "spoofceleb": spoofceleb.read,
    "codecfake": codecfake.read,
    "partialspoof": partialspoof.read,
    "wavefake": wavefake.read,
    "dfadd": dfadd.read,
}
DATASETS = tuple(READERS)


@dataclass(frozen=True)
class DatasetConfig:
    """Where the data is and how to read it; built from the workflow config."""

    dataset: str = "for"
    input_dir: str = ""
    listing: str = ""  # dataset csv: the user's CSV/TSV of files (not our manifest.csv)
    protocol: str = ""
    csv_columns: dict[str, str] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)
    speaker_split: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEAKER_SPLIT))
    path_pattern: str = ""  # dataset pattern: where split, label, ... are in a path
    bona_fide: str | tuple[str, ...] = ""  # mlaad, wavefake: the bona fide folder(s)

    @classmethod
    def from_config(cls, config: dict) -> DatasetConfig:
        dataset = config.get("dataset") or "for"
        if config.get("listing") and dataset == "for":
            dataset = "csv"  # a listing is used instead of input_dir, as users expect
        if dataset not in DATASETS:
            raise ManifestError(f"dataset {dataset!r} is not one of {list(DATASETS)}")
        return cls(
            dataset=dataset,
            input_dir=config.get("input_dir") or "",
            listing=config.get("listing") or "",
            protocol=config.get("protocol") or "",
            csv_columns=dict(config.get("csv_columns") or {}),
            label_map=dict(config.get("label_map") or {}),
            speaker_split=dict(config.get("speaker_split") or DEFAULT_SPEAKER_SPLIT),
            path_pattern=config.get("path_pattern") or "",
            bona_fide=_folders(config.get("bona_fide")),
        )

    def as_dict(self) -> dict:
        """The options, for the manifest's provenance record. Options added later are left
        out while unset, so that the records of runs made before them stay current."""
        options = dataclasses.asdict(self)
        for late in ("path_pattern", "bona_fide"):
            if not options[late]:
                del options[late]
        if isinstance(options.get("bona_fide"), tuple):
            options["bona_fide"] = list(options["bona_fide"])
        return options


def _folders(value: str | list[str] | None) -> str | tuple[str, ...]:
    """One folder as given, several as a tuple (the config is frozen, hashable)."""
    if isinstance(value, list):
        return tuple(value)
    return value or ""


def iter_rows(
    cfg: DatasetConfig,
    spill_dir: str | os.PathLike[str] | None = None,
    on_skipped: Callable[[SkippedFile], None] | None = None,
) -> Iterator[ManifestRow]:
    """Checked manifest rows of the configured dataset, unsorted, streamed (see :class:`Reader`)."""
    return READERS[cfg.dataset](cfg, spill_dir, on_skipped)
