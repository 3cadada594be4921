"""Dataset ``mlaad``: MLAAD, the Multi-Language Audio Anti-Spoofing Dataset (fakes only).

Layout, as released (https://huggingface.co/datasets/mueller91/MLAAD and the paper,
arXiv:2401.09512): ``input_dir`` holds ``fake/<language>/<system>/*.wav`` (``fake`` in any
case; a ``Fake/`` beside a ``fake/`` is read too), e.g.
``fake/de/tts_models_de_thorsten_vits/``, each system folder with a ``meta.csv`` (not read).
The attack is the system folder's name. MLAAD's authors take its bona fide half from
M-AILABS: the ``bona_fide`` option names an M-AILABS folder (:mod:`.mailabs` layout; relative
to ``input_dir``) whose files are read as real rows. Without it the rows are all fake (a
warning says so); the M-AILABS corpus can also be read on its own, as dataset ``mailabs``.

The corpus has no splits: fakes are split by system (no system in two splits, so testing
holds systems never trained on) and the bona fide files by speaker, both by the shares of
``speaker_split``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, file_size, input_root
from fraudprep.inputs.datasets.mailabs import mailabs_rows
from fraudprep.inputs.datasets.scan import audio_files, directory_option, group_splits, scan_reader
from fraudprep.inputs.manifest import FAKE, ManifestError, ManifestRow, SkippedFile

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

LAYOUT = "fake/<language>/<system>/*.wav"


def _fakes(fake_dir: Path, problems: Problems) -> Iterator[tuple[Path, str]]:
    """(path, system) of each audio file below ``fake/``."""
    for path in audio_files(fake_dir):
        parts = path.relative_to(fake_dir).parts
        if len(parts) == 3:
            yield path, parts[1]
        else:
            problems.add(
                f"{path}: not in fake/<language>/<system>/ as MLAAD keeps its audio; "
                "move or remove it"
            )


def _fake_dirs(root: Path) -> list[Path]:
    """The ``fake`` folders of ``root``, in any case (``fake/``, ``Fake/``): each is read."""
    try:
        found = [p for p in root.iterdir() if p.name.lower() == "fake" and p.is_dir()]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name)


def _scan(
    cfg: DatasetConfig, problems: Problems, on_skipped: Callable[[SkippedFile], None] | None
) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    fake_dirs = _fake_dirs(root)
    if not fake_dirs:
        raise ManifestError(
            f"{root}: no fake/ folder; point input_dir at the MLAAD folder holding {LAYOUT}"
        )
    bona_fide = directory_option(cfg, "bona_fide")
    counts = Counter(system for d in fake_dirs for _, system in _fakes(d, Problems("")))
    splits = group_splits(counts, cfg)
    for fake_dir in fake_dirs:
        for path, system in _fakes(fake_dir, problems):
            yield ManifestRow(
                str(path), splits[system], FAKE, file_size(str(path)), "", system, "mlaad"
            )
    if bona_fide is None:
        log.warning(
            "MLAAD holds only fakes and no bona_fide folder is set: every row is fake. Set "
            "bona_fide to an M-AILABS folder, or read M-AILABS as dataset mailabs beside it"
        )
        return
    yield from mailabs_rows(bona_fide, cfg, problems, "mlaad")


read = scan_reader(_scan, LAYOUT)
