"""Dataset ``mailabs``: the M-AILABS Speech Dataset, all bona fide.

Layout, as the corpus's own release (https://www.caito.de/2019/01/03/the-m-ailabs-speech-dataset/)
unpacks: ``input_dir`` is one language folder (``en_US``, ``de_DE``...) or the folder holding
several, each with
``by_book/{female,male}/<speaker>/<book>/wavs/*.wav`` and ``by_book/mix/<book>/wavs/*.wav``
(books read by several speakers), beside each book's ``metadata.csv`` (transcripts, not read).

Every file is real. The corpus has no splits: speakers are assigned to splits by
``speaker_split``, no speaker in two splits; a ``mix`` book counts as one speaker (its rows have
no speaker name). It is also the bona fide half of MLAAD (:mod:`.mlaad`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, file_size, input_root
from fraudprep.inputs.datasets.scan import BONA_FIDE_ATTACK, audio_files, group_splits, scan_reader
from fraudprep.inputs.manifest import REAL, ManifestError, ManifestRow, SkippedFile

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

LAYOUT = "<language>/by_book/{female,male}/<speaker>/<book>/wavs/*.wav or by_book/mix/<book>/wavs/"
GENDERS = ("female", "male")


def book_folders(root: Path) -> list[Path]:
    """The ``by_book`` folders of ``root``: its own, or those of its language folders."""
    if (root / "by_book").is_dir():
        return [root / "by_book"]
    found = sorted(d / "by_book" for d in root.iterdir() if (d / "by_book").is_dir())
    if not found:
        raise ManifestError(
            f"{root}: no by_book folder, nor language folders (en_US, de_DE...) holding one; "
            f"point the folder at M-AILABS laid out as {LAYOUT}"
        )
    return found


def _entries(root: Path, problems: Problems) -> Iterator[tuple[Path, str, str]]:
    """(path, speaker, split group) of each audio file."""
    for by_book in book_folders(root):
        for path in audio_files(by_book):
            parts = path.relative_to(by_book).parts
            if len(parts) == 5 and parts[0].lower() in GENDERS and parts[3] == "wavs":
                yield path, parts[1], parts[1]
            elif len(parts) == 4 and parts[0].lower() == "mix" and parts[2] == "wavs":
                yield path, "", f"mix/{parts[1]}"
            else:
                problems.add(
                    f"{path}: not where M-AILABS keeps audio (by_book/{{female,male}}/<speaker>/"
                    "<book>/wavs/ or by_book/mix/<book>/wavs/); move or remove it"
                )


def mailabs_rows(
    root: Path, cfg: DatasetConfig, problems: Problems, source: str
) -> Iterator[ManifestRow]:
    """The real rows of the M-AILABS folder ``root``, speakers split by ``speaker_split``."""
    # A first pass counts each speaker's files (reporting nothing), the second yields.
    counts = Counter(group for _, _, group in _entries(root, Problems("")))
    splits = group_splits(counts, cfg)
    for path, speaker, group in _entries(root, problems):
        size = file_size(str(path))
        yield ManifestRow(str(path), splits[group], REAL, size, speaker, BONA_FIDE_ATTACK, source)


def _scan(
    cfg: DatasetConfig, problems: Problems, on_skipped: Callable[[SkippedFile], None] | None
) -> Iterator[ManifestRow]:
    return mailabs_rows(input_root(cfg), cfg, problems, "mailabs")


read = scan_reader(_scan, LAYOUT)
