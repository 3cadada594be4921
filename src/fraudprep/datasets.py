"""Dataset readers: each corpus's own layout and protocol files -> one manifest table.

Supported (``dataset`` in the config):

- ``for``: Fake-or-Real trees, ``{training,validation,testing}/{real,fake}/<audio>``.
- ``asvspoof2019``: the LA or PA directory, with ``ASVspoof2019_<T>_cm_protocols/`` and
  ``ASVspoof2019_<T>_{train,dev,eval}/flac/``; train -> training, dev -> validation,
  eval -> testing.
- ``asvspoof2021``: ``ASVspoof2021_<T>_eval/flac/`` with the keys' ``trial_metadata.txt``
  (found under ``keys/<T>/CM/`` or given as ``protocol``); all rows are testing.
- ``asvspoof5``: ``ASVspoof5.{train,dev,eval}*.tsv`` protocols with ``flac_{T,D,E}*/`` audio.
- ``itw``: In-the-Wild, ``meta.csv`` (``file,speaker,label``) beside the audio; it has no
  splits, so speakers are assigned to splits deterministically (no speaker in two splits).
- ``csv``: any CSV/TSV, with ``csv_columns`` naming its columns and ``label_map`` its labels.

In ASVspoof-style protocols the key is the field reading ``bonafide`` or ``spoof``, and the
attack/system id is the field just before it (``-`` for bona fide speech).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import logging
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fraudprep.atomic import atomic_write
from fraudprep.extsort import ExternalSort
from fraudprep.integrity import LeakFinder, LeakTally, iter_with_hashes, write_leaks
from fraudprep.logs import Progress
from fraudprep.manifest import (
    LABELS,
    SPLITS,
    ManifestError,
    ManifestRow,
    Problems,
    SkippedFile,
    file_size,
    iter_for_tree,
    iter_manifest_csv,
    open_listing,
    parse_label,
    resolve_path,
    row_sort_key,
    skipped_sort_key,
    write_manifest_rows,
    write_skipped,
)

log = logging.getLogger(__name__)

DATASETS = ("for", "asvspoof2019", "asvspoof2021", "asvspoof5", "itw", "csv")
PROTOCOL_KEYS = {"bonafide": 0, "bona-fide": 0, "spoof": 1}
ASVSPOOF2019_PROTOCOLS = {"training": "train.trn", "validation": "dev.trl", "testing": "eval.trl"}
ASVSPOOF2019_AUDIO = {"training": "train", "validation": "dev", "testing": "eval"}
ASVSPOOF5_PROTOCOLS = {"training": "train", "validation": "dev", "testing": "eval"}
DEFAULT_SPEAKER_SPLIT = {"training": 0.7, "validation": 0.15, "testing": 0.15}
FINGERPRINT_MODULUS = 1 << 256


class LeakageError(ManifestError):
    """Identical audio crosses splits or labels and ``fail_on_leakage`` is set."""


@dataclass(frozen=True)
class DatasetConfig:
    """Where the data is and how to read it; built from the workflow config."""

    dataset: str = "for"
    input_dir: str = ""
    manifest: str = ""
    protocol: str = ""
    csv_columns: dict[str, str] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)
    speaker_split: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEAKER_SPLIT))

    @classmethod
    def from_config(cls, config: dict) -> DatasetConfig:
        dataset = config.get("dataset") or "for"
        if config.get("manifest") and dataset == "for":
            dataset = "csv"  # a manifest is used instead of input_dir, as users expect
        if dataset not in DATASETS:
            raise ManifestError(f"dataset {dataset!r} is not one of {list(DATASETS)}")
        return cls(
            dataset=dataset,
            input_dir=config.get("input_dir") or "",
            manifest=config.get("manifest") or "",
            protocol=config.get("protocol") or "",
            csv_columns=dict(config.get("csv_columns") or {}),
            label_map=dict(config.get("label_map") or {}),
            speaker_split=dict(config.get("speaker_split") or DEFAULT_SPEAKER_SPLIT),
        )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _root(cfg: DatasetConfig) -> Path:
    root = Path(cfg.input_dir)
    if not root.is_dir():
        raise ManifestError(
            f"input_dir {cfg.input_dir!r} does not exist or is not a directory; for dataset "
            f"{cfg.dataset!r} point it at the corpus's top directory (see README, Datasets)"
        )
    return root


def _first_existing(candidates: list[Path], what: str) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ManifestError(f"{what} not found; looked for {tried}; set protocol in the config")


def parse_protocol(
    protocol: Path,
    split: str,
    audio_dirs: list[Path],
    source: str,
    problems: Problems,
    extension: str = ".flac",
) -> Iterator[ManifestRow]:
    """Rows from an ASVspoof-style protocol: ``SPEAKER FILE ... ATTACK KEY ...`` per line."""
    with open_listing(protocol) as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            where = f"{protocol}:{line_number}"
            key_index = next(
                (i for i, f in enumerate(fields[2:], 2) if f.lower() in PROTOCOL_KEYS), None
            )
            if len(fields) < 3 or key_index is None:
                problems.add(f"{where}: cannot parse {line.strip()!r} (no bonafide/spoof key)")
                continue
            name = fields[1] if fields[1].lower().endswith(extension) else fields[1] + extension
            path = next((d / name for d in audio_dirs if (d / name).exists()), audio_dirs[0] / name)
            if not os.path.lexists(path):
                problems.add(f"{where}: audio file {str(path)!r} does not exist")
                continue
            yield ManifestRow(
                str(path),
                split,
                PROTOCOL_KEYS[fields[key_index].lower()],
                file_size(str(path)),
                fields[0],
                fields[key_index - 1],
                source,
            )


def _asvspoof2019(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = _root(cfg)
    track = next(
        (t for t in ("LA", "PA") if (root / f"ASVspoof2019_{t}_cm_protocols").is_dir()), None
    )
    if track is None:
        raise ManifestError(
            f"{root}: no ASVspoof2019_LA_cm_protocols or ASVspoof2019_PA_cm_protocols directory; "
            "set input_dir to the LA or PA folder of ASVspoof 2019"
        )
    for split, suffix in ASVSPOOF2019_PROTOCOLS.items():
        protocol = (
            root / f"ASVspoof2019_{track}_cm_protocols" / f"ASVspoof2019.{track}.cm.{suffix}.txt"
        )
        if not protocol.exists():
            log.warning("No %s protocol %s: %s split left empty", split, protocol, split)
            continue
        audio = root / f"ASVspoof2019_{track}_{ASVSPOOF2019_AUDIO[split]}" / "flac"
        yield from parse_protocol(protocol, split, [audio], "asvspoof2019", problems)


def _asvspoof2021(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = _root(cfg)
    tracks = [t for t in ("LA", "DF", "PA") if (root / f"ASVspoof2021_{t}_eval").is_dir()]
    if not tracks:
        raise ManifestError(f"{root}: no ASVspoof2021_LA_eval, _DF_eval or _PA_eval directory")
    for track in tracks:
        protocol = (
            Path(cfg.protocol)
            if cfg.protocol
            else _first_existing(
                [
                    root / "keys" / track / "CM" / "trial_metadata.txt",
                    root / f"ASVspoof2021_{track}_eval" / "keys" / "CM" / "trial_metadata.txt",
                    root / f"{track}-keys-full" / "keys" / "CM" / "trial_metadata.txt",
                ],
                f"ASVspoof 2021 {track} trial_metadata.txt",
            )
        )
        audio = root / f"ASVspoof2021_{track}_eval" / "flac"
        yield from parse_protocol(protocol, "testing", [audio], "asvspoof2021", problems)


def _asvspoof5(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = _root(cfg)
    found = False
    for split, part in ASVSPOOF5_PROTOCOLS.items():
        for protocol in sorted(root.glob(f"ASVspoof5.{part}*.tsv")):
            found = True
            letter = part[0].upper()
            audio_dirs = sorted(d for d in root.glob(f"flac_{letter}*") if d.is_dir())
            yield from parse_protocol(
                protocol, split, audio_dirs or [root / f"flac_{letter}"], "asvspoof5", problems
            )
    if not found:
        raise ManifestError(f"{root}: no ASVspoof5.train/dev/eval*.tsv protocol files")


def assign_speakers(file_counts: dict[str, int], shares: dict[str, float]) -> dict[str, str]:
    """Deterministic speaker -> split, balancing files toward ``shares``.

    Speakers are visited in an order fixed by a hash of their name (so it does not depend on
    the order of the metadata file) and each goes to the split furthest below its share.
    """
    total_share = sum(shares.values())
    order = sorted(file_counts, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    assigned: dict[str, str] = {}
    filled = Counter({split: 0 for split in shares})
    total = sum(file_counts.values())
    for speaker in order:
        split = max(shares, key=lambda s: shares[s] / total_share * total - filled[s])
        assigned[speaker] = split
        filled[split] += file_counts[speaker]
    return assigned


def _itw(cfg: DatasetConfig, problems: Problems) -> Iterator[ManifestRow]:
    root = _root(cfg)
    meta = Path(cfg.protocol) if cfg.protocol else root / "meta.csv"
    # Splits follow from the files per speaker, so the metadata is read twice (to count, then
    # to yield) instead of being held: the count pass reports nothing, the second pass does.
    counts = Counter(speaker for _, speaker, _ in _itw_records(meta, root, cfg, Problems("")))
    splits = assign_speakers(counts, cfg.speaker_split)
    for path, speaker, label in _itw_records(meta, root, cfg, problems):
        yield ManifestRow(path, splits[speaker], label, file_size(path), speaker, "", "itw")


def _itw_records(
    meta: Path, root: Path, cfg: DatasetConfig, problems: Problems
) -> Iterator[tuple[str, str, int]]:
    if not meta.is_file():
        raise ManifestError(f"In-the-Wild metadata {str(meta)!r} not found; set protocol")
    with open_listing(meta) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("file", "speaker", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{meta}: missing column(s) {missing}")
        for line_number, record in enumerate(reader, start=2):
            where = f"{meta}:{line_number}"
            label = parse_label(record["label"], cfg.label_map)
            path = resolve_path(record["file"].strip(), root)
            if label is None:
                problems.add(f"{where}: unknown label {record['label']!r}")
            elif not os.path.lexists(path):
                problems.add(f"{where}: audio file {path!r} does not exist")
            else:
                yield path, record["speaker"].strip(), label


READERS = {
    "asvspoof2019": _asvspoof2019,
    "asvspoof2021": _asvspoof2021,
    "asvspoof5": _asvspoof5,
    "itw": _itw,
}


def iter_rows(
    cfg: DatasetConfig,
    spill_dir: str | os.PathLike[str] | None = None,
    on_skipped: Callable[[SkippedFile], None] | None = None,
) -> Iterator[ManifestRow]:
    """Checked manifest rows of the configured dataset, unsorted, streamed.

    Files a folder scan does not take as audio go to ``on_skipped`` (listings name their
    files, so only the ``for`` layout skips any).

    Problems raise :class:`ManifestError`; those found row by row (a missing file, a bad label,
    a duplicate path) only after the last row, all listed together. Duplicate checks sort
    externally, with temporary files in ``spill_dir`` (default: the system's).
    """
    if cfg.dataset == "for":
        return iter_for_tree(cfg.input_dir, on_skipped)
    if cfg.dataset == "csv":
        if not cfg.manifest:
            raise ManifestError("dataset csv needs manifest: the CSV/TSV file to read")
        return iter_manifest_csv(cfg.manifest, cfg.csv_columns, cfg.label_map, spill_dir)
    return _iter_protocol_rows(cfg, spill_dir)


def _iter_protocol_rows(
    cfg: DatasetConfig, spill_dir: str | os.PathLike[str] | None
) -> Iterator[ManifestRow]:
    problems = Problems(f"dataset {cfg.dataset} in {cfg.input_dir}")
    with ExternalSort[str](spill_dir=spill_dir) as paths:
        for row in READERS[cfg.dataset](cfg, problems):
            paths.add(row.path)
            yield row
        problems.raise_if_any()
        if not paths.count:
            raise ManifestError(f"dataset {cfg.dataset} in {cfg.input_dir}: no files listed")
        repeated = [path for path, group in itertools.groupby(paths) if len(list(group)) > 1]
    if repeated:
        raise ManifestError(f"{len(repeated)} file(s) listed twice, e.g. {repeated[:3]}")


def collect_rows(cfg: DatasetConfig) -> list[ManifestRow]:
    """Read the configured dataset into checked manifest rows, sorted by split and path.

    In memory: for small inputs and tests. The manifest step streams :func:`iter_rows`.
    """
    return sorted(iter_rows(cfg), key=row_sort_key)


def _row_digest(row: ManifestRow) -> int:
    try:
        mtime = os.lstat(row.path).st_mtime_ns
    except (OSError, ValueError):  # ValueError: a NUL byte in the path (reported elsewhere)
        mtime = -1
    text = f"{'|'.join(map(str, row))}\0{mtime}\n".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=32).digest(), "big")


def source_fingerprint(cfg: DatasetConfig) -> str:
    """Check the input (raising :class:`ManifestError`) and digest its files' paths, labels,
    sizes and modification times.

    The workflow passes it as a parameter of the manifest step, so problems surface before any
    job runs; adding, removing, replacing or relabelling a file rebuilds the manifest, and an
    untouched input rebuilds nothing. It runs in Snakemake's own process while the DAG is
    built, so it streams: the row digests are summed (mod 2**256), which needs no sort and
    does not depend on the order the input lists its files in, just as the manifest does not.
    """
    total, count = 0, 0
    for row in iter_rows(cfg):
        total = (total + _row_digest(row)) % FINGERPRINT_MODULUS
        count += 1
    return hashlib.sha256(f"{count}:{total:064x}".encode()).hexdigest()


def build_manifest(
    output_path: str | os.PathLike[str],
    cfg: DatasetConfig,
    leakage_path: str | os.PathLike[str] | None = None,
    hash_files: bool = True,
    fail_on_leakage: bool = False,
    skipped_path: str | os.PathLike[str] | None = None,
) -> int:
    """Write the manifest (and the leakage and skipped-files tables) for the configured dataset.

    Memory stays bounded whatever the number of rows: rows are sorted externally, hashed in
    a bounded window, written as they come, and checked for leaks by another external sort.
    Temporary files go next to the output (``/tmp`` may be memory-backed on cluster nodes)
    and are removed on exit, also on error. A leak that stops the run leaves no manifest.
    """
    spill_dir = Path(output_path).parent
    spill_dir.mkdir(parents=True, exist_ok=True)
    counts: Counter[tuple[str, int]] = Counter()
    with (
        ExternalSort(row_sort_key, spill_dir) as ordered,
        ExternalSort(skipped_sort_key, spill_dir) as skipped,
        LeakFinder(spill_dir) as finder,
    ):
        ordered.extend(iter_rows(cfg, spill_dir, skipped.add))
        if skipped_path is not None:
            write_skipped(skipped, skipped_path)
        rows: Iterable[ManifestRow] = ordered
        if hash_files:
            # Hashing reads every byte: minutes on a large dataset, so progress is shown.
            rows = Progress("manifest: hashing", ordered.count).follow(iter_with_hashes(rows))
        with atomic_write(output_path, "w", newline="", encoding="utf-8") as handle:
            count = write_manifest_rows(_tallied(rows, counts, finder), handle)
            # Still inside atomic_write: a LeakageError discards the manifest just written.
            _check_leaks(finder, leakage_path, fail_on_leakage)
    _log_counts(counts)
    log.info("Manifest of %d files (dataset %s) written to %s", count, cfg.dataset, output_path)
    return count


def _tallied(
    rows: Iterable[ManifestRow], counts: Counter[tuple[str, int]], finder: LeakFinder
) -> Iterator[ManifestRow]:
    """Pass rows through, counting them per split and label and handing them to the finder."""
    for row in rows:
        counts[(row.split, row.label)] += 1
        finder.add(row)
        yield row


def _check_leaks(
    finder: LeakFinder, leakage_path: str | os.PathLike[str] | None, fail_on_leakage: bool
) -> None:
    tally = LeakTally()
    if leakage_path is not None:
        write_leaks(tally.watch(finder), leakage_path)
    else:
        deque(tally.watch(finder), maxlen=0)
    if not tally.count:
        return
    log.warning(
        "%d group(s) of identical audio across splits or labels:\n%s",
        tally.count,
        tally.describe(),
    )
    if fail_on_leakage:
        raise LeakageError(
            f"{tally.count} group(s) of identical audio cross splits or labels "
            f"(fail_on_leakage is set):\n{tally.describe()}"
        )


def _log_counts(counts: Counter[tuple[str, int]]) -> None:
    for split in SPLITS:
        for label_name, label in LABELS.items():
            log.info("%s/%s: %d files", split, label_name, counts[(split, label)])
