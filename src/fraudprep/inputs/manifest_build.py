"""Building the manifest: the configured dataset's rows (or every corpus's, config ``corpora``:
:mod:`fraudprep.inputs.corpora`), sorted, hashed, checked for leaks between splits, labels and
corpora (:mod:`fraudprep.inputs.integrity`) and written as ``manifest.csv`` (with the segment
labels of the files that have them, PartialSpoof's, in ``segments.csv`` beside it); and the
fingerprint of the input that decides when the manifest is built again."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path

from fraudprep.base.atomic import atomic_write, link_or_copy
from fraudprep.base.extsort import ExternalSort
from fraudprep.base.logs import Progress
from fraudprep.inputs.corpora import CorporaConfig, SegmentSource, SourceConfig, segment_sources
from fraudprep.inputs.corpora_rows import iter_raw_rows, iter_source_rows
from fraudprep.inputs.integrity import (
    Leak,
    LeakFinder,
    LeakTally,
    SpeakerFinder,
    iter_with_hashes,
    source_leaks,
    write_leaks,
)
from fraudprep.inputs.manifest import (
    LABELS,
    SPLITS,
    ManifestError,
    ManifestRow,
    SegmentLabels,
    row_sort_key,
    segments_path,
    skipped_sort_key,
    write_manifest_rows,
    write_segments,
    write_skipped,
)

log = logging.getLogger(__name__)

FINGERPRINT_MODULUS = 1 << 256


# Where the leakage table of a run stopped by fail_on_leakage is kept: Snakemake removes a
# failed step's outputs, leakage.csv among them, so the message points here.
KEPT_LEAKAGE = "leakage-of-the-failed-run.csv"


class LeakageError(ManifestError):
    """Identical audio crosses splits or labels and ``fail_on_leakage`` is set."""


def _file_identity(path: str) -> str:
    """What the file system says about a file's bytes without reading them.

    Size and modification time alone miss a file rewritten in place with as many bytes and
    its time set back (``cat other > file; touch -r old file``): the change time, which no
    program can set, and the inode, new when a file is replaced by a rename, do not. The file
    followed through symbolic links is the one that is read.
    """
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path (reported elsewhere)
        return "-"
    return f"{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"


def _row_digest(row: ManifestRow) -> int:
    fields = row if row.corpus else row[:-1]  # a single dataset's digest as before corpora
    text = f"{'|'.join(map(str, fields))}\0{_file_identity(row.path)}\n".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=32).digest(), "big")


def source_fingerprint(cfg: SourceConfig) -> str:
    """Check the input (raising :class:`ManifestError`) and digest its files' paths, labels,
    sizes, modification and change times and inodes.

    The workflow passes it as a parameter of the manifest step, so problems surface before any
    job runs; adding, removing, replacing or relabelling a file rebuilds the manifest, and an
    untouched input rebuilds nothing. It runs in Snakemake's own process while the DAG is
    built, so it streams: the row digests are summed (mod 2**256), which needs no sort and
    does not depend on the order the input lists its files in, just as the manifest does not.
    """
    total, count = 0, 0
    for row in iter_raw_rows(cfg):
        total = (total + _row_digest(row)) % FINGERPRINT_MODULUS
        count += 1
    text = f"{count}:{total:064x}"
    sources = segment_sources(cfg)
    if sources:  # their label files too (a dataset without segment labels: as before)
        files = [f"{s.corpus}|{s.resolution}|{f}|{_file_identity(f)}" for s in sources
                 for f in s.label_files()]  # fmt: skip
        text += ":" + "\n".join(files)
    return hashlib.sha256(text.encode()).hexdigest()


def build_manifest(
    output_path: str | os.PathLike[str],
    cfg: SourceConfig,
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
    corpora = cfg if isinstance(cfg, CorporaConfig) else None
    counts: Counter[tuple[str, str, int]] = Counter()
    sources = segment_sources(cfg)
    labelled = {source.corpus for source in sources}
    if not sources:
        segments_path(output_path).unlink(missing_ok=True)  # an earlier run's
    with (
        ExternalSort(row_sort_key, spill_dir) as ordered,
        ExternalSort(skipped_sort_key, spill_dir) as skipped,
        LeakFinder(spill_dir) as finder,
        _speaker_finder(corpora, spill_dir) as speakers,
        ExternalSort(spill_dir=spill_dir) as wanted,  # rows that may have segment labels
    ):
        ordered.extend(iter_source_rows(cfg, spill_dir, skipped.add))
        if skipped_path is not None:
            write_skipped(skipped, skipped_path)
        rows: Iterable[ManifestRow] = ordered
        if hash_files:
            # Hashing reads every byte: minutes on a large dataset, so progress is shown.
            rows = Progress("manifest: hashing", ordered.count).follow(iter_with_hashes(rows))
        with atomic_write(output_path, "w", newline="", encoding="utf-8") as handle:
            tallied = _tallied(rows, counts, finder, speakers)
            if labelled:
                tallied = _noting_labelled(tallied, labelled, wanted)
            count = write_manifest_rows(tallied, handle, with_corpus=corpora is not None)
            if sources:  # written before the manifest is: no manifest without its table
                _write_segment_table(segments_path(output_path), sources, wanted, spill_dir)
            leaks: Iterable[Leak] = finder
            if corpora is not None:
                splits_of: dict[str, set[str]] = {}
                for corpus, split, _ in counts:
                    splits_of.setdefault(corpus, set()).add(split)
                sources = source_leaks(corpora.shared_sources(), splits_of)
                leaks = itertools.chain(finder, speakers, sources)
            # Still inside atomic_write: a LeakageError discards the manifest just written.
            _check_leaks(leaks, leakage_path, fail_on_leakage, corpora is not None)
    _log_counts(counts)
    what = f"dataset {cfg.dataset}" if corpora is None else f"{len(corpora.corpora)} corpora"
    log.info("Manifest of %d files (%s) written to %s", count, what, output_path)
    return count


def _speaker_finder(
    corpora: CorporaConfig | None, spill_dir: Path
) -> SpeakerFinder | nullcontext[None]:
    return SpeakerFinder(corpora.shared_namespaces(), spill_dir) if corpora else nullcontext()


def _tallied(
    rows: Iterable[ManifestRow],
    counts: Counter[tuple[str, str, int]],
    finder: LeakFinder,
    speakers: SpeakerFinder | None,
) -> Iterator[ManifestRow]:
    """Pass rows through, counting them per corpus, split and label and handing them to the
    finders."""
    for row in rows:
        counts[(row.corpus, row.split, row.label)] += 1
        finder.add(row)
        if speakers is not None:
            speakers.add(row)
        yield row


def _noting_labelled(
    rows: Iterable[ManifestRow], labelled: set[str], wanted: ExternalSort
) -> Iterator[ManifestRow]:
    """Pass rows through, noting (corpus, path, row, label) of those of corpora with segment
    labels."""
    for index, row in enumerate(rows):
        if row.corpus in labelled:
            wanted.add((row.corpus, row.path, index, row.label))
        yield row


def _write_segment_table(
    path: Path, sources: list[SegmentSource], wanted: ExternalSort, spill_dir: Path
) -> None:
    """``segments.csv``: the segment labels of the manifest rows noted in ``wanted``, in row
    order. Labels and rows are each sorted by (corpus, path) on disk and joined, then sorted
    back into row order: memory stays bounded whatever the number of files."""
    resolution = {source.corpus: source.resolution for source in sources}
    missing = disagreeing = written = 0
    with (
        ExternalSort(spill_dir=spill_dir) as labels,
        ExternalSort(lambda item: item.row, spill_dir) as by_row,
    ):
        for source in sources:
            labels.extend((source.corpus, file, text) for file, text in source.labels())
        found = iter(labels)
        label = next(found, None)
        for corpus, file, row, utterance_label in wanted:
            while label is not None and label[:2] < (corpus, file):
                label = next(found, None)
            if label is None or label[:2] != (corpus, file):
                missing += 1
                continue
            text = label[2]
            disagreeing += ("1" in text) != (utterance_label == LABELS["fake"])
            by_row.add(SegmentLabels(row, file, resolution[corpus], text))
        with atomic_write(path, "w", newline="", encoding="utf-8") as handle:
            written = write_segments(by_row, handle)
    log.info("Segment labels of %d files written to %s", written, path)
    if missing:
        log.warning("%d file(s) of corpora with segment labels have none: no labels", missing)
    if disagreeing:
        log.warning(
            "%d file(s) whose segment labels disagree with their utterance label (fake where "
            "a segment is; the release writes 1 for bona fide segments, 0 for spoofed ones)",
            disagreeing,
        )


def _check_leaks(
    leaks: Iterable[Leak],
    leakage_path: str | os.PathLike[str] | None,
    fail_on_leakage: bool,
    with_corpus: bool = False,
) -> None:
    tally = LeakTally()
    if leakage_path is not None:
        write_leaks(tally.watch(leaks), leakage_path, with_corpus)
    else:
        deque(tally.watch(leaks), maxlen=0)
    kept = Path(leakage_path).with_name(KEPT_LEAKAGE) if leakage_path is not None else None
    if kept is not None:
        kept.unlink(missing_ok=True)  # an earlier stopped run's: this run's table is the truth
    if not tally.count:
        return
    what = "identical audio across splits or labels"
    if with_corpus:
        what = "identical audio across splits, labels or corpora, or shared speakers or sources"
    # The first line stands alone (the console shows only it); the groups follow.
    listed = f", every one listed in {leakage_path}" if leakage_path is not None else ""
    log.warning("%d group(s) of %s%s\n%s", tally.count, what, listed, tally.describe())
    if fail_on_leakage:
        crosses = "identical audio cross splits or labels"
        if with_corpus:
            crosses = (
                "leakage (identical audio, shared speakers or sources) cross splits or corpora"
            )
        listed = "the first ones are in the job's log"
        if kept is not None:
            link_or_copy(Path(leakage_path), kept)
            listed = f"every one is listed in {kept}"
        # One line: the console shows it as the run's reason to stop (base.logs.one_line_on).
        raise LeakageError(
            f"{tally.count} group(s) of {crosses} (fail_on_leakage is set); {listed}; remove "
            "the copies or unset fail_on_leakage"
        )


def _log_counts(counts: Counter[tuple[str, str, int]]) -> None:
    corpora = sorted({corpus for corpus, _, _ in counts})
    for corpus in corpora:
        prefix = f"{corpus}: " if corpus else ""
        for split in SPLITS:
            for label_name, label in LABELS.items():
                n = counts[(corpus, split, label)]
                log.info("%s%s/%s: %d files", prefix, split, label_name, n)
