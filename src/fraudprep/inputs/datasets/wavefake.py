"""Dataset ``wavefake``: WaveFake (vocoded copies of LJSpeech and JSUT), fakes only.

Layout, as released on Zenodo and described in the README of
https://github.com/RUB-SysSec/WaveFake: ``input_dir`` holds
``generated_audio/<vocoder>/*.wav``, e.g. ``generated_audio/ljspeech_melgan/LJ001-0001_gen.wav``
or ``generated_audio/jsut_multi_band_melgan/BASIC5000_0001_gen.wav``; the attack is the
vocoder folder's name. Its bona fide halves are separate corpora: the ``bona_fide`` option
names their folders (one or a list, relative to ``input_dir``), e.g.
``[LJSpeech-1.1, jsut_ver1.1]``; every audio file below them is a real row. Without it the
rows are all fake (a warning says so).

The corpus has no splits and one voice per language, so it is split by utterance: a file and
all its vocoded copies (``LJ001-0001.wav``, ``.../LJ001-0001_gen.wav``) go to the same split,
by the shares of ``speaker_split``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, file_size, input_root
from fraudprep.inputs.datasets.scan import (
    BONA_FIDE_ATTACK,
    audio_files,
    directory_options,
    group_splits,
    scan_reader,
)
from fraudprep.inputs.manifest import FAKE, REAL, ManifestError, ManifestRow, SkippedFile

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

LAYOUT = "generated_audio/<vocoder>/*.wav"
GENERATED_SUFFIX = "_gen"


def utterance(path: Path) -> str:
    """The utterance a file is (or is a copy of): its name without ``_gen`` and extension."""
    stem = path.stem
    return stem[: -len(GENERATED_SUFFIX)] if stem.endswith(GENERATED_SUFFIX) else stem


def _entries(
    generated: Path, bona_fide: list[Path], problems: Problems
) -> Iterator[tuple[Path, int, str]]:
    """(path, label, attack) of every file, fakes first."""
    for path in audio_files(generated):
        parts = path.relative_to(generated).parts
        if len(parts) == 2:
            yield path, FAKE, parts[0]
        else:
            problems.add(
                f"{path}: not in generated_audio/<vocoder>/ as WaveFake keeps its audio; "
                "move or remove it"
            )
    for folder in bona_fide:
        for path in audio_files(folder):
            yield path, REAL, BONA_FIDE_ATTACK


def _scan(
    cfg: DatasetConfig, problems: Problems, on_skipped: Callable[[SkippedFile], None] | None
) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    generated = root / "generated_audio"
    if not generated.is_dir():
        raise ManifestError(
            f"{root}: no generated_audio/ folder; point input_dir at the WaveFake folder "
            f"holding {LAYOUT}"
        )
    bona_fide = directory_options(cfg, "bona_fide")
    if not bona_fide:
        log.warning(
            "WaveFake holds only fakes and no bona_fide folder is set: every row is fake. Set "
            "bona_fide to the LJSpeech-1.1 (and jsut_ver1.1) folders"
        )
    counts = Counter(utterance(path) for path, _, _ in _entries(generated, bona_fide, Problems("")))
    splits = group_splits(counts, cfg)
    for path, label, attack in _entries(generated, bona_fide, problems):
        split = splits[utterance(path)]
        yield ManifestRow(str(path), split, label, file_size(str(path)), "", attack, "wavefake")


read = scan_reader(_scan, LAYOUT)
