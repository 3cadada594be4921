"""What the readers of corpora released as folder trees share: a sorted walk of the audio
files, reader options, splits for corpora that have none, and the reader around a scan.

Used by :mod:`.path_pattern`, :mod:`.mailabs`, :mod:`.mlaad`, :mod:`.wavefake` and
:mod:`.dfadd`.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraudprep.inputs.datasets.common import Problems
from fraudprep.inputs.datasets.folder import is_audio_name
from fraudprep.inputs.datasets.in_the_wild import DEFAULT_SPEAKER_SPLIT, assign_speakers
from fraudprep.inputs.manifest import ManifestError, ManifestRow, SkippedFile, natural_key

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig, Reader

log = logging.getLogger(__name__)

# The attack of a bona fide row, as the ASVspoof protocols write it.
BONA_FIDE_ATTACK = "-"
# The attack of a fake row whose listing writes the bona fide marker for its system (every
# spoof line of PartialSpoof's protocols): not "-", which would read as bona fide.
UNKNOWN_ATTACK = "unknown"


def option(cfg: DatasetConfig, name: str, default: Any = "") -> Any:
    """A reader-specific key of the config (``path_pattern``, ``bona_fide``), or ``default``
    when it is unset."""
    value = getattr(cfg, name)
    return default if value in (None, "", [], {}) else value


def shares(cfg: DatasetConfig) -> dict[str, float]:
    return dict(cfg.speaker_split or DEFAULT_SPEAKER_SPLIT)


def walk_files(directory: Path) -> Iterator[Path]:
    """Every file below ``directory`` (any depth), directories in natural order, so the rows
    come in the same order on every machine. Links to directories are not followed."""
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: natural_key(entry.name))
    except OSError:
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir() and not entry.is_symlink()
        except OSError:
            is_dir = False
        if is_dir:
            yield from walk_files(Path(entry.path))
        else:
            yield Path(entry.path)


def audio_files(directory: Path) -> Iterator[Path]:
    """The audio files (by extension, as the ``for`` reader takes them) below ``directory``."""
    return (path for path in walk_files(directory) if is_audio_name(path.name))


def group_splits(groups: Counter, cfg: DatasetConfig) -> dict[str, str]:
    """Deterministic group -> split (speakers, systems, utterances) by ``speaker_split``: no
    group is in two splits (see :func:`.in_the_wild.assign_speakers`)."""
    return assign_speakers(dict(groups), shares(cfg))


def directory_options(cfg: DatasetConfig, name: str) -> list[Path]:
    """The folders a reader option names (one, or a list), relative to ``input_dir``; each
    must exist."""
    value = option(cfg, name, [])
    paths = []
    for entry in [value] if isinstance(value, str) else list(value):
        path = Path(os.path.normpath(os.path.join(cfg.input_dir, entry)))  # absolute stays
        if not path.is_dir():
            raise ManifestError(
                f"{name} {str(entry)!r} is not a folder (relative paths are relative to "
                f"input_dir {cfg.input_dir!r}); point it at the bona fide folder or unset it"
            )
        paths.append(path)
    return paths


def directory_option(cfg: DatasetConfig, name: str) -> Path | None:
    """The one folder a reader option names, or None."""
    paths = directory_options(cfg, name)
    if len(paths) > 1:
        raise ManifestError(f"{name} names {len(paths)} folders; this dataset takes one")
    return paths[0] if paths else None


def scan_reader(
    scan: Callable[[DatasetConfig, Problems, Callable[[SkippedFile], None] | None], Iterator],
    layout: str,
) -> Reader:
    """The reader of a corpus found by walking its folders.

    ``scan`` yields rows and adds what is wrong (a file outside the layout, an unknown label
    or attack id) to the problems; they are raised after the last row, all together, as the
    listing readers do. A walk finds no path twice, so there is no duplicate check.
    """

    def read(
        cfg: DatasetConfig,
        spill_dir: str | os.PathLike[str] | None = None,
        on_skipped: Callable[[SkippedFile], None] | None = None,
    ) -> Iterator[ManifestRow]:
        problems = Problems(f"dataset {cfg.dataset} in {cfg.input_dir}")
        count = 0
        for row in scan(cfg, problems, on_skipped):
            count += 1
            yield row
        problems.raise_if_any()
        if not count:
            raise ManifestError(
                f"dataset {cfg.dataset}: no audio files found in {cfg.input_dir!r}; "
                f"expected {layout}"
            )

    return read
