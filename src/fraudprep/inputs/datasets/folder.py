"""Dataset ``for``: a Fake-or-Real folder tree, ``{training,validation,testing}/{real,fake}/``.

Split and label come from the folders a file is in (matched case-insensitively), never from
its name; every audio file below a class folder, at any depth, is a row. The other files there
are listed in ``skipped.csv`` with the reason, never dropped silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import file_size
from fraudprep.inputs.manifest import (
    LABELS,
    SPLITS,
    ManifestError,
    ManifestRow,
    SkippedFile,
    row_sort_key,
)

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

# Extensions the scanner of a folder tree takes as audio: what libsndfile reads, then what
# FFmpeg's decoders add (fraudprep.extraction.audio_io picks the decoder by content, not by
# extension).
LIBSNDFILE_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au", ".snd"}
    | {".caf", ".w64", ".rf64", ".sph", ".nist", ".voc"}
)
FFMPEG_EXTENSIONS = frozenset(
    {".mp3", ".mp2", ".m4a", ".m4b", ".mp4", ".aac", ".mov", ".3gp", ".mkv", ".mka", ".webm"}
    | {".wma", ".asf", ".amr", ".awb", ".ac3", ".eac3", ".wv", ".ape", ".gsm"}
)
AUDIO_EXTENSIONS = LIBSNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS
NOT_AUDIO_EXTENSION = "not an audio extension"
# The layout as error messages show it.
LAYOUT = f"{'|'.join(SPLITS)}/{'|'.join(LABELS)}/<audio files>"


def is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _child_dirs_by_name(parent: Path) -> dict[str, Path]:
    # FoR trees from different tools differ in case ("Training", "REAL"): match case-insensitively.
    if not parent.is_dir():
        return {}
    return {entry.name.lower(): Path(entry.path) for entry in os.scandir(parent) if entry.is_dir()}


def _walk_audio(class_dir: Path) -> Iterator[tuple[str, bool]]:
    """Yield (path, is_audio) for every entry below ``class_dir`` except plain directories.

    The order is the file system's: callers sort. ``os.scandir`` streams each directory, where
    ``os.walk`` would first list it whole (a million files in one folder is ~100 MB of names).
    As with ``os.walk``, links to directories are not followed and unreadable ones skipped.
    """
    pending = [str(class_dir)]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    yield entry.path, is_audio_name(entry.name)
                    continue
                if not entry.is_symlink():
                    pending.append(entry.path)
                # A directory (or a link to one) named like audio is a trap that must be reported.
                if is_audio_name(entry.name):
                    yield entry.path, True


def iter_for_tree(
    input_dir: str | os.PathLike[str], on_skipped: Callable[[SkippedFile], None] | None = None
) -> Iterator[ManifestRow]:
    """Rows of the audio files in a FoR-layout tree, unsorted, streamed (see scan_for_tree).

    Every other file under a class folder is passed to ``on_skipped`` with the reason.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise ManifestError(
            f"input_dir {str(root)!r} does not exist or is not a directory; set input_dir to a "
            f"tree laid out as {LAYOUT}, or set listing to a CSV of path,split,label"
        )
    found, skipped, examples = 0, 0, []
    split_dirs = _child_dirs_by_name(root)
    for split in SPLITS:
        class_dirs = _child_dirs_by_name(split_dirs[split]) if split in split_dirs else {}
        for label_name, label in LABELS.items():
            if label_name not in class_dirs:
                log.warning("No %s/%s directory under %s", split, label_name, root)
                continue
            for path, is_audio in _walk_audio(class_dirs[label_name]):
                if is_audio:
                    found += 1
                    yield ManifestRow(path, split, label, file_size(path), source="for")
                else:
                    skipped += 1
                    # Only a few examples are kept (the smallest, so the log is deterministic).
                    examples = sorted([*examples, path])[:3]
                    if on_skipped is not None:
                        on_skipped(SkippedFile(path, split, label, NOT_AUDIO_EXTENSION))
    if skipped:
        log.warning(
            "Skipped %d file(s) without an audio extension, e.g. %s (audio extensions: %s)",
            skipped,
            examples,
            " ".join(sorted(AUDIO_EXTENSIONS)),
        )
    if not found:
        raise ManifestError(
            f"No audio files found under {str(root)!r}: expected {LAYOUT} with one of the "
            "extensions " + " ".join(sorted(AUDIO_EXTENSIONS))
        )


def scan_for_tree(input_dir: str | os.PathLike[str]) -> list[ManifestRow]:
    """Find ``{training,validation,testing}/{real,fake}/**`` audio files in a FoR-layout tree.

    Sorted, in memory: for small trees and tests; the manifest step streams iter_for_tree.
    """
    return sorted(iter_for_tree(input_dir), key=row_sort_key)


def read(
    cfg: DatasetConfig,
    spill_dir: str | os.PathLike[str] | None = None,
    on_skipped: Callable[[SkippedFile], None] | None = None,
) -> Iterator[ManifestRow]:
    # A folder holds no path twice: nothing to sort, so spill_dir is not needed.
    return iter_for_tree(cfg.input_dir, on_skipped)
