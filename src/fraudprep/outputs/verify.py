"""Published batch files checked against what their metadata recorded when they were written.

Each ``batch_metadata`` entry records, per file, its bytes and checksum (``file_bytes``,
``checksums``; see :class:`fraudprep.base.formats.StreamChecksum`). The loader verifies a file
before it trusts it (once per process and version of the file: a training loop reads the
same files every epoch), and a rerun of the workflow checks every file's presence and size,
rebuilding what is missing or cut short.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fraudprep.base.formats import StorageFormat, file_digest
from fraudprep.base.layout import CHUNKS_DIR

REBUILD = "rerun the same command to rebuild it"


class DamagedOutputError(RuntimeError):
    """A batch file is missing, or not what was written (truncated, overwritten, bit rot)."""


def _recorded(entry: Mapping[str, Any], index: int) -> tuple[int | None, str | None]:
    """(bytes, checksum) recorded for the entry's ``index``-th file; None for outputs written
    before they were recorded."""
    sizes, checksums = entry.get("file_bytes"), entry.get("checksums")
    return (sizes[index] if sizes else None), (checksums[index] if checksums else None)


def size_problem(path: Path, expected: int | None) -> str | None:
    """What is wrong with a file that can be seen without reading it, or None."""
    return _problem_of(_stat(path), expected)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _problem_of(info: os.stat_result | None, expected: int | None) -> str | None:
    if info is None:
        return "is missing"
    if expected is not None and info.st_size != expected:
        return f"has {info.st_size:,} bytes where {expected:,} were written"
    return None


_verified: set[tuple[str, int, int, int]] = set()


def verify_files(paths: Sequence[Path], entry: Mapping[str, Any]) -> None:
    """Raise :class:`DamagedOutputError` naming the first file of a batch that is missing or
    whose bytes are not those written."""
    for index, path in enumerate(paths):
        size, checksum = _recorded(entry, index)
        info = _stat(path)
        problem, advice = _problem_of(info, size), REBUILD
        if problem is None and checksum is not None and info is not None:
            version = (str(path.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
            if version in _verified:
                continue
            if file_digest(path)[1] != checksum:
                # Of the right size: a rerun does not read every file, so it must be deleted.
                problem = "is not what was written (its checksum differs)"
                advice = f"delete it and {REBUILD}"
            else:
                _verified.add(version)
        if problem is not None:
            raise DamagedOutputError(f"{path} {problem}; {advice}")


def damaged_files(
    metadata: Mapping[str, Sequence[Mapping[str, Any]]], model_dir: Path, storage: StorageFormat
) -> Iterator[tuple[Mapping[str, Any], Path, str]]:
    """(entry, file, what is wrong) for each published file missing or of the wrong size:
    what a rerun can see without reading every file."""
    for entries in metadata.values():
        for entry in entries:
            for index, path in enumerate(storage.entry_files(entry, model_dir)):
                problem = size_problem(path, _recorded(entry, index)[0])
                if problem is not None:
                    yield entry, path, problem


def prepare_rebuild(model_dir: str | Path, storage: StorageFormat) -> list[str]:
    """Before a run decides what to do: when a published batch file of the model is missing
    or of the wrong size, remove the model's metadata (so that the final step runs again)
    and the chunk folder that made it (its copy is the same file, or may be damaged too: the
    chunk is extracted again). Return one line per damaged file, for the console."""
    model_dir = Path(model_dir)
    metadata_path = model_dir / storage.metadata_name
    if not metadata_path.is_file():
        return []
    try:
        metadata = storage.read_document(metadata_path)
    except Exception as error:  # a damaged metadata file is rebuilt as well
        metadata_path.unlink()
        return [f"{metadata_path} cannot be read ({error}); rebuilding {model_dir.name}'s outputs"]
    lines = []
    for entry, path, problem in damaged_files(metadata, model_dir, storage):
        chunk = model_dir / CHUNKS_DIR / str(entry.get("chunk", ""))
        if entry.get("chunk") and chunk.is_dir():
            shutil.rmtree(chunk)
        lines.append(f"{path} {problem}; {entry.get('chunk', 'its chunk')} is extracted again")
    if lines:
        metadata_path.unlink()
    return lines
