"""Folders of audio files that kinds draw from (noise, room impulse responses): listed when
the pool is parsed, so that a missing or empty folder is a config error, and read when a copy
needs one of their files.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.config import AugmentationConfigError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")


def audio_folder(
    entry: Mapping[str, Any], key: str, where: str, base: Path | None
) -> tuple[Path, tuple[Path, ...]]:
    """The folder ``entry[key]`` (relative to ``base`` if given) and its audio files, sorted."""
    value = entry.get(key)
    if not isinstance(value, str | Path) or not str(value):
        raise AugmentationConfigError(f"{where}: {key} is required (a folder of audio files)")
    folder = Path(value)
    if base is not None and not folder.is_absolute():
        folder = base / folder
    if not folder.is_dir():
        raise AugmentationConfigError(f"{where}: {key} {str(folder)!r} is not a folder")
    files = tuple(
        sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    )
    if not files:
        raise AugmentationConfigError(
            f"{where}: {key} {str(folder)!r} holds no audio files ({', '.join(AUDIO_EXTENSIONS)})"
        )
    return folder, files


@lru_cache(maxsize=32)
def load_folder_file(path: Path, rate: int, max_seconds: float) -> np.ndarray:
    """A noise or impulse-response file at ``rate``, read once per process. A file that
    cannot be read is named in the error: the copy's own source file is fine."""
    from fraudprep.extraction.audio_io import AudioError, load_mono

    try:
        return load_mono(str(path), rate, max_seconds).samples
    except AudioError as error:
        raise AudioError(f"{path} (from the augmentation pool): {error}") from error
