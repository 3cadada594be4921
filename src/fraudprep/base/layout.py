"""Where every output lives: the one place the names of ``output_dir``'s files are spelled.

The rules (``rules/*.smk``), the steps that write the files and the readers that read them
all take the names from here, so a contract between two steps (the chunk folder an
extraction job fills and the aggregation reads, say) has one owner that both import.

    <output_dir>/manifest.csv, chunks.csv, leakage.csv, skipped.csv, disk_space.json
    <output_dir>/<model>/settings.json, failures.csv, properties.csv, copy_failures.csv
    <output_dir>/<model>/chunks/<chunk>/chunk.json, failures.csv, properties.csv, ...

(Batch files, metadata and statistics are named by the storage format: fraudprep.base.formats.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# In output_dir
MANIFEST = "manifest.csv"
CHUNKS = "chunks.csv"
LEAKAGE = "leakage.csv"
SKIPPED = "skipped.csv"
DISK_SPACE = "disk_space.json"
# In each model's folder, and (all but settings) in each of its chunk folders
SETTINGS = "settings.json"
FAILURES = "failures.csv"
PROPERTIES = "properties.csv"  # per sample, in batch order (fraudprep.extraction.properties)
# Augmented copies that could not be made (a broken noise file, a codec refusing a clip): the
# file itself is a sample, the copy is listed here, its split the copies' one.
COPY_FAILURES = "copy_failures.csv"
CHUNKS_DIR = "chunks"
# In a chunk folder: the chunk, its settings, its batches and its statistics
CHUNK_METADATA = "chunk.json"

FAILURE_COLUMNS = ("path", "split", "label", "reason")
COPY_FAILURE_COLUMNS = ("path", "split", "label", "copy", "reason")


@dataclass(frozen=True)
class OutputPaths:
    """The paths of one ``output_dir``'s files. ``model`` and ``chunk`` may be Snakemake
    wildcards ("{model}"), for the rules' patterns."""

    root: str

    def _path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    @property
    def manifest(self) -> str:
        return self._path(MANIFEST)

    @property
    def chunks(self) -> str:
        return self._path(CHUNKS)

    @property
    def leakage(self) -> str:
        return self._path(LEAKAGE)

    @property
    def skipped(self) -> str:
        return self._path(SKIPPED)

    @property
    def disk_space(self) -> str:
        return self._path(DISK_SPACE)

    def model_dir(self, model: str) -> str:
        return self._path(model)

    def settings(self, model: str) -> str:
        return self._path(model, SETTINGS)

    def failures(self, model: str) -> str:
        return self._path(model, FAILURES)

    def properties(self, model: str) -> str:
        return self._path(model, PROPERTIES)

    def copy_failures(self, model: str) -> str:
        return self._path(model, COPY_FAILURES)

    def chunk_dir(self, model: str, chunk: str) -> str:
        return self._path(model, CHUNKS_DIR, chunk)


def read_chunk_metadata(chunk_dir: str | Path) -> dict:
    """A chunk folder's ``chunk.json``: what the extraction job wrote for the aggregation."""
    with open(Path(chunk_dir) / CHUNK_METADATA, encoding="utf-8") as handle:
        return json.load(handle)
