"""Content hashes and leakage: the same audio in two splits, or under two labels.

A detector evaluated on clips it was trained on, or trained on a clip labelled both ways,
reports numbers that mean nothing. Hashing every file's bytes (streamed, so memory stays
flat) finds byte-identical copies whatever their names.

A manifest of several corpora (config ``corpora``, :mod:`fraudprep.inputs.corpora`) is checked
for more, and its ``leakage.csv`` gains a ``corpus`` column: identical audio in two corpora
(kind ``corpus``, also within one split), a speaker of a shared speaker namespace in training
and in testing (kind ``speaker``, the ``hash`` column holding ``speaker:<namespace>/<id>``), and
a declared shared source (``sources``) under corpora that feed different splits (kind
``source``, ``hash`` ``source:<name>``, one row per corpus and split, no path).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import operator
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fraudprep.base.atomic import atomic_write
from fraudprep.base.extsort import ExternalSort
from fraudprep.inputs.manifest import SPLITS, TESTING, TRAINING, ManifestRow

log = logging.getLogger(__name__)

HASH_BLOCK = 1 << 20
LEAKAGE_COLUMNS = ("hash", "kind", "path", "split", "label")
CORPUS_LEAKAGE_COLUMNS = (*LEAKAGE_COLUMNS, "corpus")
# Every kind of leak, in the order they are described; the last three only with ``corpora``.
LEAK_KINDS = ("split", "label", "corpus", "speaker", "source")
# Rows per hashing task, and rows in flight at most: enough to keep the threads busy.
HASH_BATCH = 64
HASH_WINDOW = 4096
DESCRIBED_LEAKS = 5
EXAMPLE_FILES = 4  # files of a shared speaker named in the log; all are in leakage.csv


def content_hash(path: str) -> str:
    """SHA-256 of the file's bytes (what ``sha256sum`` prints), or "" for an entry that is not
    a readable file. SHA-256 runs at 1.9 GB/s here (CPU instructions for it), BLAKE2b at 1.3."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def iter_with_hashes(
    rows: Iterable[ManifestRow], workers: int | None = None, window: int | None = None
) -> Iterator[ManifestRow]:
    """Rows with their content hash filled in, streamed in the same order.

    Reading and hashing release the GIL, so a few threads overlap disk waits and hashing. Rows
    go to the threads in batches (one task per row costs more than hashing a small file), and
    at most ``window`` rows are in flight, so memory does not grow with the input.
    """
    workers = workers or min(4, os.cpu_count() or 1)
    window = window or HASH_WINDOW
    pending: deque[Future[list[ManifestRow]]] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in _batches(rows, HASH_BATCH):
            pending.append(pool.submit(_hashed, batch))
            if len(pending) * HASH_BATCH >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _batches(rows: Iterable[ManifestRow], size: int) -> Iterator[list[ManifestRow]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _hashed(rows: list[ManifestRow]) -> list[ManifestRow]:
    return [
        row._replace(hash=content_hash(row.path) if os.path.isfile(row.path) else "")
        for row in rows
    ]


@dataclass(frozen=True)
class Leak:
    hash: str
    kind: str  # "split" (same audio in several splits) or "label" (same audio, both labels),
    # "corpus" (same audio in several corpora), "speaker" or "source" (see the module)
    rows: tuple[ManifestRow, ...]


class LeakFinder:
    """Collects rows (in manifest order), then yields the leaks, sorted by hash.

    Rows are kept as (hash, position, row) in an external sort, so equal hashes become
    adjacent with their members in manifest order, in bounded memory. Iterating walks the
    sorted stream twice in step: the leading walk reads a whole group to learn its splits and
    labels, the trailing one then skips the group or yields it. Only groups that leak are
    ever held, one at a time.
    """

    def __init__(self, spill_dir: str | os.PathLike[str] | None = None) -> None:
        self._records: ExternalSort[tuple[str, int, ManifestRow]] = ExternalSort(
            spill_dir=spill_dir
        )
        self._position = 0

    def __enter__(self) -> LeakFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._records.close()

    def add(self, row: ManifestRow) -> None:
        if row.hash:
            self._records.add((row.hash, self._position, row))
        self._position += 1

    def __iter__(self) -> Iterator[Leak]:
        leading, trailing = iter(self._records), iter(self._records)
        for digest, group in itertools.groupby(leading, key=operator.itemgetter(0)):
            labels, splits, corpora, size = set(), set(), set(), 0
            for _, _, row in group:
                labels.add(row.label)
                splits.add(row.split)
                corpora.add(row.corpus)
                size += 1
            members = itertools.islice(trailing, size)
            kind = (
                "label"
                if len(labels) > 1
                else "split"
                if len(splits) > 1
                else "corpus"
                if len(corpora) > 1
                else ""
            )
            if kind:
                yield Leak(digest, kind, tuple(row for _, _, row in members))
            else:
                deque(members, maxlen=0)  # skip the group without holding it


class SpeakerFinder:
    """Speakers of a shared namespace found in training and in testing, of several corpora.

    Each corpus's speakers are its own unless corpora declare the same ``speaker_namespace``
    (``namespaces``: corpus -> namespace, only for corpora that share one). Rows of those
    corpora with a speaker go to an external sort by (namespace, speaker, position); the
    leaking speakers are then yielded one at a time, like :class:`LeakFinder`'s groups.
    """

    def __init__(
        self, namespaces: dict[str, str], spill_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self._namespaces = namespaces
        self._records: ExternalSort[tuple[str, int, ManifestRow]] = ExternalSort(
            spill_dir=spill_dir
        )
        self._position = 0

    def __enter__(self) -> SpeakerFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._records.close()

    def add(self, row: ManifestRow) -> None:
        namespace = self._namespaces.get(row.corpus)
        if namespace and row.speaker and row.split in (TRAINING, TESTING):
            self._records.add((f"speaker:{namespace}/{row.speaker}", self._position, row))
        self._position += 1

    def __iter__(self) -> Iterator[Leak]:
        for key, group in itertools.groupby(self._records, key=operator.itemgetter(0)):
            rows = tuple(row for _, _, row in group)
            if {r.split for r in rows} == {TRAINING, TESTING} and len({r.corpus for r in rows}) > 1:
                yield Leak(key, "speaker", rows)


def source_leaks(
    sources: dict[str, tuple[str, ...]], splits_of: dict[str, set[str]]
) -> Iterator[Leak]:
    """Declared shared sources (source -> corpora drawing from it) where one corpus feeds a
    split and another corpus another split: one row per corpus and split, with no path.
    ``splits_of``: corpus -> the splits its files went to."""
    for source, corpora in sorted(sources.items()):
        present = sorted(c for c in corpora if splits_of.get(c))
        crossing = any(
            first != second and splits_of[first] - {split}
            for first in present
            for second in present
            for split in splits_of[second]
        )
        if not crossing:  # only one corpus, or all of them in one and the same split
            continue
        yield Leak(
            f"source:{source}",
            "source",
            tuple(
                ManifestRow("", split, -1, 0, corpus=corpus)
                for corpus in present
                for split in SPLITS
                if split in splits_of[corpus]
            ),
        )


def write_leaks(leaks: Iterable[Leak], path: str | Path, with_corpus: bool = False) -> None:
    """``leakage.csv``; the ``corpus`` column only ``with_corpus`` (a manifest of corpora)."""
    with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CORPUS_LEAKAGE_COLUMNS if with_corpus else LEAKAGE_COLUMNS)
        for leak in leaks:
            writer.writerows(
                (leak.hash, leak.kind, r.path, r.split, "" if r.label < 0 else r.label)
                + ((r.corpus,) if with_corpus else ())
                for r in leak.rows
            )


class LeakTally:
    """Counts leaks passing through and keeps the first few, to describe them in the log."""

    def __init__(self, limit: int = DESCRIBED_LEAKS) -> None:
        self.limit = limit
        self.count = 0
        self.first: list[Leak] = []

    def watch(self, leaks: Iterable[Leak]) -> Iterator[Leak]:
        for leak in leaks:
            self.count += 1
            if len(self.first) < self.limit:
                self.first.append(leak)
            yield leak

    def describe(self) -> str:
        return describe_leaks(self.first, self.limit, total=self.count)


def read_leak_summary(path: str | Path) -> dict[str, int]:
    """Counts from a leakage table: groups of each kind and files involved. A table of
    corpora adds its kinds' counts (``corpus_duplicates``, ``shared_speakers``,
    ``shared_sources``) and the files involved per corpus."""
    groups: dict[str, set[str]] = {kind: set() for kind in LEAK_KINDS}
    files = 0
    per_corpus: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        with_corpus = "corpus" in (reader.fieldnames or ())
        for record in reader:
            groups[record["kind"]].add(record["hash"])
            if record["path"]:
                files += 1
                if with_corpus:
                    per_corpus[record["corpus"]] = per_corpus.get(record["corpus"], 0) + 1
    summary: dict = {
        "split_leaks": len(groups["split"]),
        "label_conflicts": len(groups["label"]),
        "files_involved": files,
    }
    if with_corpus:
        summary.update(
            corpus_duplicates=len(groups["corpus"]),
            shared_speakers=len(groups["speaker"]),
            shared_sources=len(groups["source"]),
            files_per_corpus=dict(sorted(per_corpus.items())),
        )
    return summary


def describe_leaks(
    leaks: list[Leak], limit: int = DESCRIBED_LEAKS, total: int | None = None
) -> str:
    """The first ``limit`` leaks, one per line; ``total`` counts all (default: ``leaks``)."""
    lines = []
    for leak in leaks[:limit]:
        if leak.kind == "source":
            where = ", ".join(f"{r.corpus} ({r.split})" for r in leak.rows)
            lines.append(f"  shared source {leak.hash.split(':', 1)[1]} in {where}")
            continue
        shown = leak.rows if leak.kind != "speaker" else leak.rows[:EXAMPLE_FILES]
        where = ", ".join(
            f"{r.path} ({r.corpus + ', ' if r.corpus else ''}{r.split}, label {r.label})"
            for r in shown
        )
        if leak.kind == "speaker":
            speaker = leak.hash.split(":", 1)[1]
            more_files = f", ... ({len(leak.rows)} files)" if len(leak.rows) > len(shown) else ""
            lines.append(f"  speaker {speaker} in training and testing: {where}{more_files}")
            continue
        what = {"label": "both labels", "corpus": "several corpora"}.get(
            leak.kind, "several splits"
        )
        lines.append(f"  identical audio in {what}: {where}")
    more = (len(leaks) if total is None else total) - limit
    return "\n".join(lines + ([f"  ... and {more} more groups"] if more > 0 else []))
