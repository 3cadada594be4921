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
This module reads and checks the config; the rows, with their splits assigned and the caps
applied, are :mod:`fraudprep.inputs.corpora_rows`'s.

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
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fraudprep.inputs.datasets import DatasetConfig, partialspoof
from fraudprep.inputs.manifest import SPLITS, ManifestError, parse_split

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
                    f"corpora: the shares of {split} add up to {figure(sum(shares.values()))} "
                    f"({listed(shares)}); each is at most that fraction of the split, so "
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


def figure(value: float) -> str:
    """A share or a sum of shares as the error messages show it."""
    return f"{value:.4g}"


def listed(values: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {figure(value)}" for name, value in values.items())
