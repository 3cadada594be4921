"""Dataset ``partialspoof``: PartialSpoof (utterances with spoofed segments spliced in).

Layout, as released on Zenodo (PartialSpoof v1.2) and as the data preparation of the authors'
recipes reads it (https://github.com/nii-yamagishilab/PartialSpoof): ``input_dir`` is the
``database`` folder, holding ``{train,dev,eval}/con_wav/*.wav``,
``protocols/PartialSpoof_LA_cm_protocols/PartialSpoof.LA.cm.{train,dev,eval}.trl.txt``
(ASVspoof-style lines ``SPEAKER FILE - - bonafide|spoof``) and ``segment_labels/``. train is
training, dev validation, eval testing; a missing protocol leaves its split empty (with a
warning).

Rows carry the utterance label: an utterance with any spoofed segment is fake. The segment
labels (``segment_labels/<part>_seglab_<resolution>.npy``, each a pickled dict utterance id ->
one 0/1 per segment of ``resolution`` seconds, 0.01 to 0.64) are read by
:func:`iter_segment_labels`, at one resolution (the corpus's ``segment_resolution``, default
:data:`DEFAULT_SEGMENT_RESOLUTION`), into the ``segments.csv`` table beside the manifest
(:func:`fraudprep.inputs.manifest_build.build_manifest`); the samples carry them from there.

Convention: the release writes 1 for a bona fide segment and 0 for a spoofed one (an
utterance is spoof where any segment is 0). fraudprep turns them round into its own labels
(:data:`fraudprep.inputs.manifest.LABELS`: 0 real, 1 fake), so that a sample's label is 1
exactly when one of its segment labels is 1; utterances where that does not hold are counted
and reported (a sign of labels in the other convention).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fraudprep.inputs.datasets.common import Problems, input_root, listing_reader
from fraudprep.inputs.datasets.protocol import parse_protocol
from fraudprep.inputs.manifest import SPLIT_ALIASES, ManifestError, ManifestRow

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

PARTS = ("train", "dev", "eval")
PROTOCOLS = "protocols/PartialSpoof_LA_cm_protocols"
SEGMENT_LABELS = "segment_labels"
# The resolutions (seconds per segment) the release has segment labels at.
SEGMENT_RESOLUTIONS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)
DEFAULT_SEGMENT_RESOLUTION = 0.16
# The release's segment values -> fraudprep's labels (0 real, 1 fake): 1 is a bona fide segment.
RELEASE_BONA_FIDE = 1


def database_root(cfg: DatasetConfig) -> Path:
    """The ``database`` folder: ``input_dir`` or its ``database`` subfolder."""
    root = input_root(cfg)
    if not (root / PROTOCOLS).is_dir() and (root / "database" / PROTOCOLS).is_dir():
        root = root / "database"  # the folder the archive unpacks to
    if not (root / PROTOCOLS).is_dir():
        raise ManifestError(
            f"{root}: no {PROTOCOLS}/ folder; point input_dir at PartialSpoof's database folder"
        )
    return root


def check_resolution(resolution: float, where: str = "segment_resolution") -> float:
    """``resolution`` if the release has labels at it; ManifestError otherwise."""
    if not any(abs(resolution - r) < 1e-9 for r in SEGMENT_RESOLUTIONS):
        raise ManifestError(
            f"{where}: {resolution!r} is not one of PartialSpoof's segment resolutions "
            f"{list(SEGMENT_RESOLUTIONS)} (seconds), or 0 for no segment labels"
        )
    return resolution


def segment_label_files(cfg: DatasetConfig, resolution: float) -> list[Path]:
    """The ``<part>_seglab_<resolution>.npy`` files, those of the three parts (which may be
    missing)."""
    root = database_root(cfg)
    return [root / SEGMENT_LABELS / f"{part}_seglab_{resolution:g}.npy" for part in PARTS]


def labels_text(values: np.ndarray | list[int]) -> str:
    """Release segment values (1 bona fide, 0 spoof) as fraudprep's labels, one digit per
    segment: ``"0011"`` is two real then two fake segments."""
    array = np.asarray(values).reshape(-1).astype(np.int64)
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError(f"segment labels other than 0 and 1: {sorted(set(array.tolist()))}")
    fake = (array != RELEASE_BONA_FIDE).astype(np.uint8)
    return (fake + ord("0")).tobytes().decode("ascii")


def iter_segment_labels(cfg: DatasetConfig, resolution: float) -> Iterator[tuple[str, str]]:
    """(path, labels) of every utterance the segment label files of ``resolution`` name,
    with the path the reader gives the utterance's row and the labels as
    :func:`labels_text` writes them. One part's file is held at a time (the release pickles a
    part's labels as one dict); a missing file is a warning, its part without labels."""
    root = database_root(cfg)
    for part, path in zip(PARTS, segment_label_files(cfg, resolution), strict=True):
        if not path.is_file():
            log.warning("No PartialSpoof segment labels %s: %s has none", path, part)
            continue
        labels = _read_label_dict(path)
        audio = root / part / "con_wav"
        for utterance in sorted(labels):
            name = str(utterance)
            name = name if name.lower().endswith(".wav") else f"{name}.wav"
            try:
                text = labels_text(labels[utterance])
            except ValueError as error:
                raise ManifestError(f"{path}: utterance {utterance}: {error}") from error
            yield str(audio / name), text
        del labels


def _read_label_dict(path: Path) -> dict:
    try:
        loaded = np.load(path, allow_pickle=True)  # the release's format: a pickled dict
        labels = loaded.item() if isinstance(loaded, np.ndarray) else loaded
    except (OSError, ValueError, pickle.UnpicklingError, EOFError) as error:
        raise ManifestError(f"{path}: not a PartialSpoof segment label file ({error})") from error
    if not isinstance(labels, dict):
        raise ManifestError(f"{path}: expected a dict of utterance -> labels, got {type(labels)}")
    return labels


def _listed_rows(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = database_root(cfg)
    for part in PARTS:
        protocol = root / PROTOCOLS / f"PartialSpoof.LA.cm.{part}.trl.txt"
        split = SPLIT_ALIASES[part]
        if not protocol.is_file():
            log.warning("No PartialSpoof protocol %s: %s split left empty", protocol, split)
            continue
        audio = [root / part / "con_wav"]
        yield from parse_protocol(protocol, split, audio, "partialspoof", problems, ".wav")


read = listing_reader(_listed_rows)
