"""Several corpora in one manifest: the config's ``corpora`` list.

Each entry names a reader and its own options (the single-dataset keys: ``dataset``,
``input_dir``, ``listing``, ``protocol``, ``csv_columns``, ``label_map``, ``speaker_split``),
an optional ``name`` (default: its ``dataset``), and how its files enter the splits:

- no ``split``: the corpus's own splits;
- ``split: testing``: every file goes to that split (a corpus used only for testing);
- ``split: {training: 0.8, validation: 0.1, testing: 0.1}``: re-split by speaker with those
  shares (files without a speaker are each their own group), as In-the-Wild is.

Optional caps per split: ``max_files`` (a number for every split, or ``{split: number}``; 0
keeps no file) and ``share`` (``{split: fraction}``: the corpus makes up at most that fraction
of the split as kept, e.g. ``{training: 0.3}``; the corpora without a share are kept whole and
fill the rest). The shares of a split add up to at most 1; where every corpus with files in a
split has a share, they must add up to 1 and each must have files there (else the split could
only be empty): both are errors. Files over a cap are dropped by a deterministic draw: the
files kept are those with the smallest SHA-256 of ``<seed>:<corpus>:<path>`` (``seed``,
default 0), so the same config keeps the same files, whatever order the reader lists them in.

``speaker_namespace``: corpora that name the same namespace share speaker ids (e.g. two corpora
built from VCTK); a speaker of a shared namespace in training and in testing is leakage.
``sources``: names of the material a corpus is made from (``[vctk]``); corpora declaring the same
source and feeding different splits are reported as overlap (:mod:`fraudprep.inputs.integrity`).

``segment_resolution`` (``partialspoof`` only; default 0.16, 0 for none): the resolution, in
seconds, of the segment labels each sample carries (:func:`segment_sources`).

Without ``corpora``, the single-dataset keys are one corpus as before, and the manifest has no
``corpus`` column (:class:`fraudprep.inputs.datasets.DatasetConfig`).
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fraudprep.base.extsort import ExternalSort
from fraudprep.inputs.datasets import DatasetConfig, iter_rows, partialspoof
from fraudprep.inputs.datasets.in_the_wild import assign_speakers
from fraudprep.inputs.manifest import SPLITS, ManifestError, ManifestRow, SkippedFile, parse_split

log = logging.getLogger(__name__)

# Keys of a corpora entry that are not its reader's options.
CORPUS_KEYS = (
    "name", "split", "max_files", "share", "seed", "speaker_namespace", "sources",
    "segment_resolution",
)  # fmt: skip
# Readers whose corpora have segment labels (config segment_resolution).
SEGMENT_READERS = ("partialspoof",)
# The reader options an entry may name (DatasetConfig's fields).
READER_KEYS = (
    "dataset", "input_dir", "listing", "protocol", "csv_columns", "label_map", "speaker_split",
    "path_pattern", "bona_fide",
)  # fmt: skip
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Shares of one split may add up to 1 plus this (rounding in a config's decimals).
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Corpus:
    """One entry of ``corpora``: its reader's options and how its files enter the splits."""

    name: str
    reader: DatasetConfig
    split: str = ""  # every file to this split; "" keeps the corpus's own (or re-splits)
    resplit: dict[str, float] = field(default_factory=dict)  # shares, by speaker
    max_files: dict[str, int] = field(default_factory=dict)
    share: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    speaker_namespace: str = ""
    sources: tuple[str, ...] = ()
    segment_resolution: float | None = None  # None: the reader's default (0 for none)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any], index: int) -> Corpus:
        where = f"corpora[{index}]"
        if not isinstance(entry, Mapping):
            raise ManifestError(f"{where}: expected a mapping of options, got {entry!r}")
        _check_keys(entry, where)
        reader = DatasetConfig.from_config({k: v for k, v in entry.items() if k not in CORPUS_KEYS})
        name = str(entry.get("name") or reader.dataset)
        if not NAME_PATTERN.fullmatch(name):
            raise ManifestError(f"{where}: name {name!r} must be letters, digits, '_', '.' or '-'")
        where = f"{where} ({name})"
        split, resplit = _split_rule(entry.get("split"), where)
        return cls(
            name=name,
            reader=reader,
            split=split,
            resplit=resplit,
            max_files=_max_files(entry.get("max_files"), where),
            share=_shares(entry.get("share"), where),
            seed=int(entry.get("seed") or 0),
            speaker_namespace=str(entry.get("speaker_namespace") or ""),
            sources=tuple(str(s) for s in entry.get("sources") or ()),
            segment_resolution=_segment_resolution(entry, reader, f"{where} ({name})"),
        )

    @property
    def capped(self) -> bool:
        return bool(self.max_files or self.share)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self.reader.as_dict(),
            "split": dict(self.resplit) if self.resplit else self.split,
            "max_files": dict(self.max_files),
            "share": dict(self.share),
            "seed": self.seed,
            "speaker_namespace": self.speaker_namespace,
            "sources": list(self.sources),
            # Left out while unset: the records of runs made before it stay current.
            **(
                {"segment_resolution": self.segment_resolution}
                if self.segment_resolution is not None
                else {}
            ),
        }


def _check_keys(entry: Mapping[str, Any], where: str) -> None:
    """A key that is no option of an entry (``max_file``) is an error: its cap would be lost."""
    known = sorted((*CORPUS_KEYS, *READER_KEYS))
    unknown = [str(key) for key in entry if key not in known]
    if not unknown:
        return
    name = entry.get("name") or entry.get("dataset")
    named = f"{where} ({name})" if name else where
    close = difflib.get_close_matches(unknown[0], known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(known)}"
    raise ManifestError(f"{named}: '{unknown[0]}' is not an option of a corpus; {hint}")


def _max_files(value: object, where: str) -> dict[str, int]:
    """``max_files``: a number for every split or ``{split: number}``; 0 keeps no file."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        value = dict.fromkeys(SPLITS, value)
    caps = {}
    for split, n in value.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ManifestError(f"{where}: max_files {n!r} is not a number of files (0 or more)")
        caps[_split(split, where)] = n
    return _in_split_order(caps)


def _shares(value: object, where: str) -> dict[str, float]:
    """``share``: ``{split: fraction}``, each fraction from 0 to 1."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ManifestError(f"{where}: share {value!r} must be {{split: fraction}}")
    shares = {}
    for split, fraction in value.items():
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise ManifestError(f"{where}: share {fraction!r} of {split} is not a fraction")
        if not 0 <= fraction <= 1:
            raise ManifestError(f"{where}: share {fraction!r} of {split} is not from 0 to 1")
        shares[_split(split, where)] = float(fraction)
    return _in_split_order(shares)


def _segment_resolution(
    entry: Mapping[str, Any], reader: DatasetConfig, where: str
) -> float | None:
    value = entry.get("segment_resolution")
    if value is None:
        return None
    if reader.dataset not in SEGMENT_READERS:
        raise ManifestError(
            f"{where}: segment_resolution is for the readers with segment labels "
            f"({', '.join(SEGMENT_READERS)}), not {reader.dataset!r}"
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ManifestError(f"{where}: segment_resolution {value!r} is not a number of seconds")
    if value == 0:
        return 0.0
    return partialspoof.check_resolution(float(value), f"{where}: segment_resolution")


def _in_split_order(values: dict[str, Any]) -> dict[str, Any]:
    """The same mapping in SPLITS order: ties between splits (equal shares) are broken the
    same way however the config orders its keys (YAML writers sort them)."""
    return {split: values[split] for split in SPLITS if split in values}


def _split(text: object, where: str) -> str:
    split = parse_split(str(text))
    if split is None:
        raise ManifestError(f"{where}: {text!r} is not a split ({', '.join(SPLITS)})")
    return split


def _split_rule(value: object, where: str) -> tuple[str, dict[str, float]]:
    if not value:
        return "", {}
    if isinstance(value, Mapping):
        shares = {_split(s, where): float(f) for s, f in value.items()}
        if any(f < 0 for f in shares.values()) or not sum(shares.values()) > 0:
            raise ManifestError(f"{where}: split shares {dict(value)} must be >= 0, not all 0")
        return "", _in_split_order(shares)
    return _split(value, where), {}


@dataclass(frozen=True)
class CorporaConfig:
    """The config's ``corpora``: several corpora in one manifest with a ``corpus`` column."""

    corpora: tuple[Corpus, ...]

    @classmethod
    def from_entries(cls, entries: object) -> CorporaConfig:
        if not isinstance(entries, list) or not entries:
            raise ManifestError("corpora must be a non-empty list of corpus entries")
        corpora = tuple(Corpus.from_entry(entry, i) for i, entry in enumerate(entries))
        names = Counter(c.name for c in corpora)
        twice = sorted(name for name, n in names.items() if n > 1)
        if twice:
            raise ManifestError(
                f"corpora: name(s) {twice} used twice; give each entry its own name"
            )
        for split in SPLITS:
            shares = {c.name: c.share[split] for c in corpora if split in c.share}
            if sum(shares.values()) > 1 + SHARE_TOLERANCE:
                raise ManifestError(
                    f"corpora: the shares of {split} add up to {_number(sum(shares.values()))} "
                    f"({_listed(shares)}); each is at most that fraction of the split, so "
                    "together they can be at most 1"
                )
        return cls(corpora)

    def as_dict(self) -> dict[str, Any]:
        return {"corpora": [corpus.as_dict() for corpus in self.corpora]}

    @property
    def listings(self) -> list[str]:
        return [c.reader.listing for c in self.corpora if c.reader.dataset == "csv"]

    def shared_namespaces(self) -> dict[str, str]:
        """corpus -> speaker namespace, for the corpora that share theirs with another."""
        spaces = Counter(c.speaker_namespace for c in self.corpora if c.speaker_namespace)
        return {
            c.name: c.speaker_namespace
            for c in self.corpora
            if c.speaker_namespace and spaces[c.speaker_namespace] > 1
        }

    def shared_sources(self) -> dict[str, tuple[str, ...]]:
        """source -> the corpora that declare it, for sources declared by several."""
        by_source: dict[str, list[str]] = {}
        for corpus in self.corpora:
            for source in corpus.sources:
                by_source.setdefault(source, []).append(corpus.name)
        return {s: tuple(names) for s, names in sorted(by_source.items()) if len(names) > 1}


SourceConfig = DatasetConfig | CorporaConfig


@dataclass(frozen=True)
class SegmentSource:
    """A corpus whose samples carry segment labels: its name in the manifest ("" for a single
    dataset), its reader's options and the labels' resolution in seconds."""

    corpus: str
    reader: DatasetConfig
    resolution: float

    def labels(self) -> Iterator[tuple[str, str]]:
        """(path, labels) per labelled file, as :func:`partialspoof.iter_segment_labels`."""
        return partialspoof.iter_segment_labels(self.reader, self.resolution)

    def label_files(self) -> list[str]:
        return [
            str(path) for path in partialspoof.segment_label_files(self.reader, self.resolution)
        ]


def segment_sources(cfg: SourceConfig) -> list[SegmentSource]:
    """The corpora whose samples carry segment labels: every ``partialspoof`` one, at its
    ``segment_resolution`` (default :data:`partialspoof.DEFAULT_SEGMENT_RESOLUTION`; 0: none).
    A single dataset takes the default (list it under ``corpora`` to choose another)."""
    default = partialspoof.DEFAULT_SEGMENT_RESOLUTION
    if isinstance(cfg, DatasetConfig):
        return [SegmentSource("", cfg, default)] if cfg.dataset in SEGMENT_READERS else []
    sources = []
    for corpus in cfg.corpora:
        if corpus.reader.dataset in SEGMENT_READERS:
            resolution = corpus.segment_resolution
            resolution = default if resolution is None else resolution
            if resolution:
                sources.append(SegmentSource(corpus.name, corpus.reader, resolution))
    return sources


def source_config(config: Mapping[str, Any]) -> SourceConfig:
    """The workflow config's input: its ``corpora``, or the single-dataset keys."""
    if config.get("corpora"):
        return CorporaConfig.from_entries(config["corpora"])
    return DatasetConfig.from_config(config)


def source_from_record(record: Mapping[str, Any]) -> SourceConfig:
    """The input config back from its ``as_dict()`` (the manifest step's params)."""
    record = {k: v for k, v in record.items() if k != "fingerprint"}
    if "corpora" in record:
        return CorporaConfig.from_entries(record["corpora"])
    return DatasetConfig(**record)


def input_listings(cfg: SourceConfig) -> list[str]:
    """User listings the manifest is read from (files Snakemake should watch)."""
    if isinstance(cfg, CorporaConfig):
        return cfg.listings
    return [cfg.listing] if cfg.dataset == "csv" else []


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


def _speaker_group(row: ManifestRow) -> str:
    return row.speaker or f"\0{row.path}"  # no speaker: the file is its own group


def _plan(cfg: CorporaConfig, spill_dir: str | os.PathLike[str] | None) -> _Plan:
    plan = _Plan()
    if not any(c.resplit or c.capped for c in cfg.corpora):
        return plan
    counts: dict[str, Counter[str]] = {}  # corpus -> files per split, before caps
    for corpus in cfg.corpora:
        if corpus.resplit:
            groups = Counter(_speaker_group(row) for row in iter_rows(corpus.reader, spill_dir))
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
                f"corpora: the shares of {split} add up to {_number(total_share)} "
                f"({_listed(shares)}) and no corpus without a share has {split} files to make "
                f"up the rest, so each corpus would be at most its share of an empty {split}; "
                "make the shares add up to 1, or leave a corpus of that split without a share"
            )
        empty = [name for name, share in shares.items() if share > 0 and not available[name]]
        if empty:
            raise ManifestError(
                f"corpora: corpus {empty[0]} has a share of {split} ({_number(shares[empty[0]])}) "
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


def _number(value: float) -> str:
    return f"{value:.4g}"


def _listed(values: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {_number(value)}" for name, value in values.items())


def _draw_key(corpus: Corpus, row: ManifestRow) -> str:
    return hashlib.sha256(f"{corpus.seed}:{corpus.name}:{row.path}".encode()).hexdigest()


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
                split = speakers.get(_speaker_group(row))
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
