"""The final step for one model: number batches globally, merge metadata, stats and failures.

Batch files are hard-linked from the chunk directories to the seed's names
(``<split>_batch_<k>.pkl``, k counting from 0 per split in manifest order), so aggregation
moves no feature data; metadata and statistics are merged chunk by chunk.

Here: linking the batches and writing their metadata entries and shard lists, removing what
earlier runs left, and the step itself. The ``dataset_stats`` document is built in
:mod:`fraudprep.outputs.dataset_stats`, the CSV tables merged in
:mod:`fraudprep.outputs.chunk_tables`.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fraudprep.base.atomic import link_or_copy
from fraudprep.base.formats import FORMATS, ListsWriter, StorageFormat, storage_format, write_json
from fraudprep.base.layout import COPY_FAILURES, PROPERTIES, read_chunk_metadata
from fraudprep.extraction.stats import ChunkStats
from fraudprep.inputs.chunks import Chunk, read_chunks
from fraudprep.inputs.integrity import content_hash
from fraudprep.inputs.manifest import AUGMENTED_SUFFIX, SPLITS, augmented_split
from fraudprep.outputs.chunk_tables import write_copy_failures, write_failures, write_properties
from fraudprep.outputs.dataset_stats import (
    CorpusOfSamples,
    add_warnings,
    check_identity,
    copy_counts,
    corpus_counts,
    count_copies,
    dataset_statistics,
    sample_corpora,
)
from fraudprep.outputs.shortcuts import DEFAULT_THRESHOLD, shortcut_table
from fraudprep.outputs.summary import summary_line
from fraudprep.outputs.verify import size_problem

log = logging.getLogger(__name__)

# Where the failures table of a run that failed for too many failures is kept: Snakemake
# removes a failed step's outputs, failures.csv among them, so the message points here.
KEPT_FAILURES = "failures-of-the-failed-run.csv"


class TooManyFailures(RuntimeError):
    """More files failed than ``max_failure_fraction`` allows."""


def _link_batches(
    chunk: Chunk,
    chunk_metadata: dict,
    chunk_dir: Path,
    model_dir: Path,
    split: str,
    next_index: Counter,
    metadata: ListsWriter,
    shard_lists: dict[str, list[dict[str, Any]]],
    corpora: CorpusOfSamples | None = None,
) -> None:
    """Give a chunk's batches of ``split`` their global names (the next numbers of that split)
    and write their metadata entries; with ``corpora`` (a manifest of several corpora), each
    sample's corpus too."""
    storage = storage_format(chunk_metadata["settings"]["storage_format"])
    for record in chunk_metadata["batches"]:
        if record["split"] != split:
            continue
        index = next_index[split]
        next_index[split] += 1
        stem = storage.published_stem(split, index)
        sizes = record.get("file_bytes") or [None] * len(storage.batch_suffixes)
        for suffix, size in zip(storage.batch_suffixes, sizes, strict=True):
            source = chunk_dir / f"{record['stem']}{suffix}"
            _check_size(source, size, chunk_dir)
            link_or_copy(source, model_dir / f"{stem}{suffix}")
        if storage.streams_samples:
            shard = {"url": f"{stem}.tar", "nsamples": record["num_samples"]}
            shard_lists.setdefault(split, []).append({**shard, "filesize": record["bytes"]})
        metadata.add(
            {
                **storage.batch_paths(model_dir, stem),
                "batch_index": index,
                "num_samples": record["num_samples"],
                "labels": record["labels"],
                "source_files": record["source_files"],
                "speakers": record["speakers"],
                "attacks": record["attacks"],
                "split": split,
                "chunk": chunk.id,
                "bytes": record["bytes"],
                # Per file, in the order of the path keys: what the loader and a rerun check.
                "file_bytes": record["file_bytes"],
                "checksums": record["checksums"],
                # Augmented copies: the copy index and the parameters drawn, per sample.
                **({"augmentations": record["augmentations"]} if "augmentations" in record else {}),
                # Several corpora: each sample's (config corpora; absent for one dataset).
                **(
                    {"corpora": [corpora.corpus(path) for path in record["source_files"]]}
                    if corpora is not None
                    else {}
                ),
                # Segment labels (PartialSpoof's), per sample: one digit per segment (0 real,
                # 1 fake) and seconds per segment, None where a sample has none; absent from
                # the batches of which no sample has any.
                **(
                    {
                        "segment_labels": record["segment_labels"],
                        "segment_resolution": record["segment_resolutions"],
                    }
                    if "segment_labels" in record
                    else {}
                ),
            }
        )


class DamagedChunkError(RuntimeError):
    """A chunk's batch file is not the size it was written with (its data lost on disk)."""


def _check_size(path: Path, expected: int | None, chunk_dir: Path) -> None:
    """Batch files are not synced one by one (their sizes and checksums are recorded): one
    whose data a power cut lost is found here, and its chunk made again by the rerun."""
    problem = size_problem(path, expected)
    if problem is not None:
        shutil.rmtree(chunk_dir, ignore_errors=True)
        raise DamagedChunkError(
            f"{path} {problem} (its data was lost, e.g. in a power cut); the chunk was "
            "removed: rerun the same command to extract it again"
        )


def _remove_stale_batches(model_dir: Path, batch_counts: Counter, current: StorageFormat) -> int:
    """Delete batch files a previous, larger run (or another format) left behind."""
    removed = 0
    suffixes = "|".join(re.escape(s) for f in FORMATS.values() for s in f.batch_suffixes)
    splits = "|".join(SPLITS)
    pattern = re.compile(rf"((?:{splits})(?:{AUGMENTED_SUFFIX})?)(?:_batch_|-)(\d+)({suffixes})")
    for path in model_dir.iterdir():
        match = pattern.fullmatch(path.name)
        if match and (
            int(match.group(2)) >= batch_counts[match.group(1)]
            or match.group(3) not in current.batch_suffixes
        ):
            path.unlink()
            removed += 1
    return removed


def _remove_leftovers(model_dir: Path, storage: StorageFormat, chunk_dirs: list[Path]) -> None:
    """The other format's metadata and statistics, and chunk folders no longer in the chunk
    table: outputs of earlier runs that a reader could take for this run's."""
    ours = (storage.metadata_name, storage.stats_name)
    for other in FORMATS.values():
        if other is not storage:
            for name in (other.metadata_name, other.stats_name):
                if name not in ours and (model_dir / name).exists():
                    (model_dir / name).unlink()
                    log.info("Removed %s, left by a run with format %s", name, other.name)
    current = {path.name for path in chunk_dirs}
    chunks_dir = model_dir / "chunks"
    for entry in sorted(chunks_dir.iterdir()) if chunks_dir.is_dir() else []:
        # Scratch folders (".partial-<pid>") belong to jobs: atomic.py removes dead ones.
        if entry.is_dir() and entry.name not in current and ".partial" not in entry.name:
            shutil.rmtree(entry)
            log.info("Removed chunk folder %s, not in this run's chunk table", entry.name)


SHARD_LIST_SUFFIX = ".shards.json"


def shard_list_path(model_dir: Path, split: str) -> Path:
    """The ``wids`` shard list of a split: ``<split>.shards.json`` beside its shards."""
    return model_dir / f"{split}{SHARD_LIST_SUFFIX}"


def write_shard_lists(model_dir: Path, shard_lists: dict[str, list[dict[str, Any]]]) -> None:
    """One ``wids`` shard list per split that has shards (urls relative to the list, so the
    folder can move), and none left from an earlier run for a split that now has none."""
    for split, shards in shard_lists.items():
        document = {
            "__kind__": "wids-shard-index-v1",
            "wids_version": 1,
            "name": f"{model_dir.name}-{split}",
            "shardlist": shards,
        }
        write_json(shard_list_path(model_dir, split), document)
    for path in model_dir.glob(f"*{SHARD_LIST_SUFFIX}"):
        if path.name[: -len(SHARD_LIST_SUFFIX)] not in shard_lists:
            path.unlink()
            log.info("Removed %s, left by an earlier run", path.name)


def aggregate_model(
    chunks: Sequence[Chunk],
    chunk_dirs: Sequence[Path],
    model_dir: str | Path,
    metadata_path: str | Path,
    stats_path: str | Path,
    failures_path: str | Path,
    max_failure_fraction: float = 1.0,
    leakage_path: str | Path | None = None,
    manifest_path: str | Path | None = None,
    properties_path: str | Path | None = None,
    shortcut_threshold: float = DEFAULT_THRESHOLD,
    copy_failures_path: str | Path | None = None,
) -> dict[str, Any]:
    """Merge a model's chunk outputs into the seed's layout; return the dataset statistics.
    With augmented copies, ``copy_failures_path`` lists those that could not be made.

    Chunks are merged one at a time and each batch's metadata entry is written as soon as it
    is known, so memory does not grow with the dataset. The metadata file appears last, after
    the statistics: its presence means the model's outputs are complete.
    """
    model_dir = Path(model_dir)
    ordered = sorted(zip(chunks, chunk_dirs, strict=True), key=lambda pair: pair[0].start)
    storage = storage_format(read_chunk_metadata(ordered[0][1])["settings"]["storage_format"])
    with storage.lists_document(metadata_path) as metadata:
        merged = _merge_chunks(
            ordered, model_dir, metadata, manifest_path if sample_corpora(manifest_path) else None
        )
        removed = _remove_stale_batches(model_dir, merged.batch_counts, storage)
        if removed:
            log.info("Removed %d batch files left by an earlier, larger run", removed)
        chunk_paths = [Path(d) for _, d in ordered]
        _remove_leftovers(model_dir, storage, chunk_paths)
        write_shard_lists(model_dir, merged.shard_lists)
        reasons = write_failures(chunk_paths, Path(failures_path))
        properties_path = Path(properties_path or model_dir / PROPERTIES)
        write_properties(chunk_paths, properties_path)
        total_files = sum(chunk.size for chunk in chunks)
        summary = dataset_statistics(
            merged.stats,
            merged.last_chunk_metadata,
            merged.batch_counts,
            merged.output_bytes,
            reasons,
            total_files,
        )
        failed_copies: Counter = Counter()
        if copy_failures_path is not None:
            failed_copies = write_copy_failures(chunk_paths, Path(copy_failures_path))
        elif (model_dir / COPY_FAILURES).exists():  # an earlier run's, with augmentation
            (model_dir / COPY_FAILURES).unlink()
            log.info("Removed %s, left by a run with augmentation", COPY_FAILURES)
        if merged.augmented or failed_copies:
            summary["augmented"] = copy_counts(merged.augmented, failed_copies)
        if corpora := corpus_counts(manifest_path, failures_path):  # config corpora
            summary["corpora"] = corpora
        check_identity(summary, total_files)
        summary["shortcuts"] = shortcut_table(
            properties_path, shortcut_threshold, manifest_path if "corpora" in summary else None
        )
        add_warnings(summary, merged.stats, leakage_path, failed_copies, copy_failures_path)
        # What the loader checks before it trusts these outputs (see fraudprep.outputs.loader).
        summary["provenance"] = {
            "manifest_sha256": content_hash(str(manifest_path)) if manifest_path else ""
        }
        storage.write_document(stats_path, summary)
    _log_and_check_failures(summary, failures_path, max_failure_fraction)
    return summary


@dataclass
class _Merged:
    stats: ChunkStats = field(default_factory=ChunkStats)
    batch_counts: Counter = field(default_factory=Counter)  # split -> batches so far
    output_bytes: int = 0
    last_chunk_metadata: dict = field(default_factory=dict)
    augmented: dict[str, dict[str, Any]] = field(default_factory=dict)  # split_aug -> counts
    # format shards: split -> its shards (name, samples, bytes), for the wids shard lists
    shard_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _merge_chunks(
    ordered: Sequence[tuple[Chunk, Path]],
    model_dir: Path,
    metadata: ListsWriter,
    corpus_manifest: str | Path | None = None,
) -> _Merged:
    """Link every chunk's batches and write their metadata, split by split, each split's in
    manifest order (a chunk may hold the end of one split and the start of the next), then
    the augmented copies' splits, if any; merge stats. Chunk metadata is read again for each
    split rather than held: memory stays flat. ``corpus_manifest``: a manifest of corpora,
    walked along each split's samples for their corpus."""
    merged = _Merged()

    def corpora(split: str, copies: bool = False) -> CorpusOfSamples | None:
        if corpus_manifest is None:
            return None
        return CorpusOfSamples(corpus_manifest, split, repeats=copies)

    for split in SPLITS:
        _merge_split(split, ordered, model_dir, metadata, merged, corpora(split))
    for clean in SPLITS:
        split = augmented_split(clean)
        if split in merged.augmented:
            _merge_split(split, ordered, model_dir, metadata, merged, corpora(clean, True))
    return merged


def _merge_split(
    split: str,
    ordered: Sequence[tuple[Chunk, Path]],
    model_dir: Path,
    metadata: ListsWriter,
    merged: _Merged,
    corpora: CorpusOfSamples | None = None,
) -> None:
    metadata.start(split)
    for chunk, chunk_dir in ordered:
        chunk_metadata = read_chunk_metadata(chunk_dir)
        _link_batches(
            chunk, chunk_metadata, Path(chunk_dir), model_dir, split, merged.batch_counts,
            metadata, merged.shard_lists, corpora,
        )  # fmt: skip
        if split == SPLITS[0]:  # once per chunk
            merged.stats = merged.stats.merge(ChunkStats.from_json(chunk_metadata["stats"]))
            merged.output_bytes += sum(r["bytes"] for r in chunk_metadata["batches"])
            merged.last_chunk_metadata = chunk_metadata
            count_copies(chunk_metadata["batches"], merged.augmented)


def _log_and_check_failures(
    summary: dict[str, Any], failures_path: str | Path, max_failure_fraction: float
) -> None:
    total, failed = summary["total_files"], summary["total_failures"]
    log.info("%s: %s", summary["model"], summary_line(summary, failures_path))
    for split in SPLITS:
        log.info(
            "  %s: %s samples in %d batches",
            split,
            summary["samples"][split],
            summary["batches"][split],
        )
    for reason, count in list(summary["failure_reasons"].items())[:10]:
        log.info("  failed %d x: %s", count, reason)
    kept = Path(failures_path).with_name(KEPT_FAILURES)
    if total and failed / total > max_failure_fraction:
        link_or_copy(Path(failures_path), kept)
        raise TooManyFailures(
            f"{failed} of {total} files failed ({failed / total:.1%}), more than "
            f"max_failure_fraction {max_failure_fraction:.1%}; the most common reasons are "
            f"listed above and every failed file in {kept}; fix the inputs or raise "
            "max_failure_fraction"
        )
    kept.unlink(missing_ok=True)  # an earlier failed run's: this run's table is the truth


def run_aggregation_job(
    chunks_path: str,
    leakage_path: str,
    chunk_dirs: Sequence[str],
    model_dir: str,
    metadata_path: str,
    stats_path: str,
    failures_path: str,
    max_failure_fraction: float,
    manifest_path: str | None = None,
    properties_path: str | None = None,
    shortcut_threshold: float = DEFAULT_THRESHOLD,
    copy_failures_path: str | None = None,
) -> dict[str, Any]:
    """The ``aggregate_batches`` rule's entry point: chunk dirs come in chunks-table order."""
    chunks = read_chunks(chunks_path)
    return aggregate_model(
        chunks,
        [Path(d) for d in chunk_dirs],
        model_dir,
        metadata_path,
        stats_path,
        failures_path,
        max_failure_fraction,
        leakage_path,
        manifest_path,
        properties_path,
        shortcut_threshold,
        copy_failures_path,
    )
