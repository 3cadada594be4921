"""The manifest's rows from the input config: a single dataset's as its reader gives them, or
every corpus's (:mod:`fraudprep.inputs.corpora`) with its name, its splits assigned and its caps
applied.

A counting pass first reads each corpus that is re-split or capped: it assigns a re-split
corpus's speakers to splits and works out how many files each capped corpus keeps per split
(``max_files``, then ``share``: at most that fraction of the split as kept). The rows pass then
keeps, of each capped (corpus, split), the files with the smallest SHA-256 of
``<seed>:<corpus>:<path>``, drawn through an external sort so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fraudprep.base.extsort import ExternalSort
from fraudprep.inputs.corpora import (
    SHARE_TOLERANCE,
    CorporaConfig,
    Corpus,
    SourceConfig,
    figure,
    listed,
)
from fraudprep.inputs.datasets import DatasetConfig, iter_rows
from fraudprep.inputs.datasets.in_the_wild import assign_speakers
from fraudprep.inputs.manifest import SPLITS, ManifestError, ManifestRow, SkippedFile

log = logging.getLogger(__name__)


def iter_source_rows(
    cfg: SourceConfig,
    spill_dir: str | os.PathLike[str] | None = None,
    on_skipped: Callable[[SkippedFile], None] | None = None,
) -> Iterator[ManifestRow]:
    """Checked manifest rows of the input, unsorted, streamed: a single dataset's as its
    reader gives them, or every corpus's with its name, splits assigned and caps applied."""
    if isinstance(cfg, DatasetConfig):
        yield from iter_rows(cfg, spill_dir, on_skipped)
        return
    plan = _plan(cfg, spill_dir)
    for corpus in cfg.corpora:
        yield from _corpus_rows(corpus, plan, spill_dir, on_skipped)


def iter_raw_rows(cfg: SourceConfig) -> Iterator[ManifestRow]:
    """Every reader's rows as read (with the corpus named): what the input fingerprint digests.
    How they enter the splits is config, recorded beside the fingerprint."""
    if isinstance(cfg, DatasetConfig):
        yield from iter_rows(cfg)
        return
    for corpus in cfg.corpora:
        for row in iter_rows(corpus.reader):
            yield row._replace(corpus=corpus.name)


@dataclass
class _Plan:
    """What the counting pass learnt: each re-split corpus's speaker -> split, and the files
    kept per (corpus, split) where a cap applies."""

    speakers: dict[str, dict[str, str]] = field(default_factory=dict)
    keep: dict[tuple[str, str], int] = field(default_factory=dict)


def _speaker_group(corpus: Corpus, row: ManifestRow) -> str:
    """A speaker, or a file without one as a group of its own."""
    return row.speaker or f"\0{_within(corpus, row.path)}"


def _within(corpus: Corpus, path: str) -> str:
    """The file's path below the corpus's folder (input_dir, or the listing's folder): what
    speakers without a name and capped draws hash, so that a corpus moved or read from
    another mount splits and samples the same files."""
    reader = corpus.reader
    root = os.path.dirname(os.path.abspath(reader.listing)) if reader.listing else reader.input_dir
    return os.path.relpath(path, root) if root else path


def _plan(cfg: CorporaConfig, spill_dir: str | os.PathLike[str] | None) -> _Plan:
    plan = _Plan()
    if not any(c.resplit or c.capped for c in cfg.corpora):
        return plan
    counts: dict[str, Counter[str]] = {}  # corpus -> files per split, before caps
    for corpus in cfg.corpora:
        if corpus.resplit:
            groups = Counter(
                _speaker_group(corpus, row) for row in iter_rows(corpus.reader, spill_dir)
            )
            plan.speakers[corpus.name] = assign_speakers(groups, corpus.resplit)
            counts[corpus.name] = Counter()
            for group, n in groups.items():
                counts[corpus.name][plan.speakers[corpus.name][group]] += n
        elif any(c.capped for c in cfg.corpora):
            counts[corpus.name] = Counter(
                corpus.split or row.split for row in iter_rows(corpus.reader, spill_dir)
            )
    for split in SPLITS:
        plan.keep.update(_kept_in_split(cfg, split, counts))
    return plan


def _kept_in_split(
    cfg: CorporaConfig, split: str, counts: dict[str, Counter[str]]
) -> dict[tuple[str, str], int]:
    """Files each capped corpus keeps in ``split``: its ``max_files``, then its ``share``, at
    most that fraction of the split as kept (:func:`_share_caps`)."""
    available = {
        c.name: min(counts.get(c.name, Counter())[split], c.max_files.get(split, math.inf))
        for c in cfg.corpora
    }
    shares = {c.name: c.share[split] for c in cfg.corpora if split in c.share}
    if shares:
        others = sum(n for name, n in available.items() if name not in shares)
        kept = _share_caps(split, {name: available[name] for name in shares}, shares, others)
        available.update(kept)
    capped = {c.name for c in cfg.corpora if split in c.max_files or split in c.share}
    return {(name, split): int(available[name]) for name in capped}


def _share_caps(
    split: str, available: dict[str, float], shares: dict[str, float], others: float
) -> dict[str, int]:
    """The most files each corpus with a share can keep in ``split`` while each makes up at
    most its share of the split: ``kept[c] <= share[c] * (others + sum(kept))``, with
    ``others`` the files of the corpora without a share (all kept).

    When no corpus without a share has files there, the shares must add up to 1 and each
    corpus with one must have files: otherwise the split could only be empty, an error."""
    if not others and any(available.values()):
        total_share = sum(shares.values())
        if total_share < 1 - SHARE_TOLERANCE:
            raise ManifestError(
                f"corpora: the shares of {split} add up to {figure(total_share)} "
                f"({listed(shares)}) and no corpus without a share has {split} files to make "
                f"up the rest, so each corpus would be at most its share of an empty {split}; "
                "make the shares add up to 1, or leave a corpus of that split without a share"
            )
        empty = [name for name, share in shares.items() if share > 0 and not available[name]]
        if empty:
            raise ManifestError(
                f"corpora: corpus {empty[0]} has a share of {split} ({figure(shares[empty[0]])}) "
                f"but no {split} files, and every corpus of {split} has a share, so each would "
                f"be at most its share of an empty {split}; remove {empty[0]}'s {split} share"
            )
    total = _share_total(available, shares, others)
    kept = {
        name: int(min(available[name], math.floor(share * total + SHARE_TOLERANCE)))
        for name, share in shares.items()
    }
    # Rounding down may leave the split a file short of the total: drop files until every
    # share holds (each pass only lowers counts, so it ends).
    while True:
        size = others + sum(kept.values())
        over = [n for n, k in kept.items() if k > shares[n] * size + SHARE_TOLERANCE]
        if not over:
            return kept
        kept[over[0]] -= 1


def _share_total(available: dict[str, float], shares: dict[str, float], others: float) -> float:
    """The largest split size ``T = others + sum(min(available[c], share[c] * T))``.

    The right side grows with ``T`` by the shares of the corpora not yet at their
    ``available`` (the ones with the largest ``available / share`` are last to reach it):
    for each number of corpora at their limit, the size is where that line meets ``T``;
    the first that is consistent, from all at their limit down, is the largest."""
    active = {n: s for n, s in shares.items() if s > 0}
    order = sorted(active, key=lambda n: available[n] / active[n])  # first to reach its limit
    for limited in range(len(order), -1, -1):
        at_limit, growing = order[:limited], order[limited:]
        rate = sum(active[n] for n in growing)
        if rate >= 1 - SHARE_TOLERANCE:
            continue  # the line does not meet T here: the size lies at a breakpoint above
        total = (others + sum(available[n] for n in at_limit)) / (1 - rate)
        low = available[order[limited - 1]] / active[order[limited - 1]] if limited else 0.0
        high = available[growing[0]] / active[growing[0]] if growing else math.inf
        if low - SHARE_TOLERANCE <= total <= high + SHARE_TOLERANCE:
            return total
    # Shares adding up to 1 and no other files: the scarcest corpus sets the size.
    return min((available[n] / s for n, s in active.items()), default=0.0)


def _draw_key(corpus: Corpus, row: ManifestRow) -> str:
    key = f"{corpus.seed}:{corpus.name}:{_within(corpus, row.path)}"
    return hashlib.sha256(key.encode()).hexdigest()


def _corpus_rows(
    corpus: Corpus,
    plan: _Plan,
    spill_dir: str | os.PathLike[str] | None,
    on_skipped: Callable[[SkippedFile], None] | None,
) -> Iterator[ManifestRow]:
    speakers = plan.speakers.get(corpus.name)
    caps = {split: n for (name, split), n in plan.keep.items() if name == corpus.name}
    with ExternalSort(spill_dir=spill_dir) as drawn:
        counts: Counter[str] = Counter()
        for row in iter_rows(corpus.reader, spill_dir, on_skipped):
            if speakers is not None:
                split = speakers.get(_speaker_group(corpus, row))
                if split is None:
                    raise ManifestError(
                        f"corpus {corpus.name}: {row.path} was not listed when the corpus "
                        "was first read; the input changed during the run, run it again"
                    )
            else:
                split = corpus.split or row.split
            row = row._replace(split=split, corpus=corpus.name)
            counts[split] += 1
            if split in caps:
                drawn.add((SPLITS.index(split), _draw_key(corpus, row), row))
            else:
                yield row
        for split, group in itertools.groupby(drawn, key=lambda item: item[0]):
            kept = caps[SPLITS[split]]
            yield from (row for _, _, row in itertools.islice(group, kept))
    for split, kept in caps.items():
        if counts[split] > kept:
            log.info(
                "corpus %s: %d of its %d %s files kept (max_files/share, seed %d)",
                corpus.name,
                kept,
                counts[split],
                split,
                corpus.seed,
            )
