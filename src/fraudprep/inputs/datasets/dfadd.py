"""Dataset ``dfadd``: DFADD, the Diffusion and Flow-matching based Audio Deepfake Dataset.

Layout, as released on Hugging Face (isjwdu/DFADD; the paper arXiv:2409.08731) and unpacked
from its zips: ``input_dir`` (or its ``DFADD_ZIP/``) holds ``DATASET_VCTK_BONAFIDE/`` (the
bona fide VCTK speech) and one folder per system, ``DATASET_{GradTTS,NaturalSpeech2,StyleTTS2,
MatchaTTS,PflowTTS}/``, each with ``{train,valid,test}/`` of audio (``p225_001.wav``,
``p225_001_GradTTS.flac``). train is training, valid validation, test testing; the attack is
the system (``GradTTS``...); the speaker is the VCTK speaker the name starts with (``p225``).
Another ``DATASET_*`` folder, or a file outside a split folder, is reported by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, file_size, input_root
from fraudprep.inputs.datasets.scan import BONA_FIDE_ATTACK, audio_files, scan_reader
from fraudprep.inputs.manifest import (
    FAKE,
    REAL,
    ManifestError,
    ManifestRow,
    SkippedFile,
    natural_key,
    parse_split,
)

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

LAYOUT = "DATASET_VCTK_BONAFIDE/ and DATASET_<system>/, each with {train,valid,test}/*.wav"
PREFIX = "DATASET_"
BONA_FIDE_FOLDER = "DATASET_VCTK_BONAFIDE"
SYSTEMS = ("GradTTS", "NaturalSpeech2", "StyleTTS2", "MatchaTTS", "PflowTTS")
SPEAKER = re.compile(r"([ps]\d+)_")


def _system(folder: str) -> str | None:
    """The system a ``DATASET_*`` folder holds, as the paper spells it, or None."""
    key = re.sub(r"[^a-z0-9]", "", folder[len(PREFIX) :].lower())
    return next((s for s in SYSTEMS if s.lower() == key), None)


def _scan(
    cfg: DatasetConfig, problems: Problems, on_skipped: Callable[[SkippedFile], None] | None
) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    if not any(root.glob(f"{PREFIX}*")) and (root / "DFADD_ZIP").is_dir():
        root = root / "DFADD_ZIP"
    folders = sorted(
        (d for d in root.iterdir() if d.is_dir() and d.name.upper().startswith(PREFIX)),
        key=lambda d: (d.name.upper() != BONA_FIDE_FOLDER, natural_key(d.name)),
    )
    if not folders:
        raise ManifestError(f"{root}: no DATASET_* folders; point input_dir at DFADD ({LAYOUT})")
    for folder in folders:
        real = folder.name.upper() == BONA_FIDE_FOLDER
        system = None if real else _system(folder.name)
        if not real and system is None:
            problems.add(
                f"{folder}: unknown DFADD system {folder.name[len(PREFIX) :]!r} (known: "
                f"{', '.join(SYSTEMS)} and VCTK_BONAFIDE); rename or remove the folder"
            )
            continue
        yield from _folder_rows(folder, system, problems)


def _folder_rows(folder: Path, system: str | None, problems: Problems) -> Iterator[ManifestRow]:
    label, attack = (REAL, BONA_FIDE_ATTACK) if system is None else (FAKE, system)
    for path in audio_files(folder):
        parts = path.relative_to(folder).parts
        split = parse_split(parts[0]) if len(parts) == 2 else None
        if split is None:
            problems.add(
                f"{path}: not in {folder.name}/{{train,valid,test}}/ as DFADD keeps its audio; "
                "move or remove it"
            )
            continue
        speaker = SPEAKER.match(path.name)
        yield ManifestRow(
            str(path),
            split,
            label,
            file_size(str(path)),
            speaker.group(1) if speaker else "",
            attack,
            "dfadd",
        )


read = scan_reader(_scan, LAYOUT)
