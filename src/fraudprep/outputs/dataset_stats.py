"""The ``dataset_stats`` document of one model, from its chunks' merged statistics: counts per
split and label, durations, decoders and formats, normalisation moments, attacks, augmented
copies, and the warnings a user must read. A manifest of several corpora (config ``corpora``)
adds ``corpora``: the files, samples, failures and attacks of each corpus."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fraudprep.base.formats import storage_format
from fraudprep.extraction.stats import (
    DURATION_BIN_EDGES,
    ChunkStats,
    count_key,
    duration_bin,
    split_attack_label,
)
from fraudprep.extraction.store import stored_shape
from fraudprep.inputs.integrity import read_leak_summary
from fraudprep.inputs.manifest import (
    LABEL_NAMES,
    LABELS,
    SPLITS,
    TRAINING,
    augmented_split,
    iter_manifest,
    manifest_has_corpus,
)

log = logging.getLogger(__name__)


def _split_label_counts(counter: Counter) -> dict[str, dict[str, int]]:
    return {
        split: {
            name: counter.get(count_key(split, number), 0) for number, name in LABEL_NAMES.items()
        }
        for split in SPLITS
    }


def histogram_in_bin_order(histogram: Counter) -> dict[str, int]:
    """Duration bins from shortest to longest, empty bins included, for plotting."""
    labels = [duration_bin(edge - 1e-9) for edge in DURATION_BIN_EDGES]
    labels.append(duration_bin(DURATION_BIN_EDGES[-1]))
    return {label: histogram.get(label, 0) for label in labels}


def dataset_statistics(
    stats: ChunkStats,
    chunk_metadata: dict,
    batch_counts: Counter,
    output_bytes: int,
    reasons: Counter,
    total_files: int,
) -> dict[str, Any]:
    """The ``dataset_stats.pkl`` dictionary."""
    samples = sum(stats.samples.values())
    duration = stats.duration
    return {
        "model": chunk_metadata["settings"]["model"],
        "settings": chunk_metadata["settings"],
        "feature_shape": tuple(chunk_metadata["feature_shape"]),
        # As on disk (images with one channel, outside pickle); the loader restores the above.
        "stored_shape": stored_shape(
            tuple(chunk_metadata["feature_shape"]),
            storage_format(chunk_metadata["settings"]["storage_format"]),
        ),
        "dtype": chunk_metadata["settings"]["profile"]["dtype"],
        "total_files": total_files,
        "total_samples": samples,
        "total_failures": sum(stats.failures.values()),
        "samples": _split_label_counts(stats.samples),
        "failures": _split_label_counts(stats.failures),
        "failure_reasons": dict(reasons.most_common()),
        "duration_seconds": {
            "mean": float(duration.mean[0]) if samples else 0.0,
            "std": float(duration.std[0]) if samples else 0.0,
            "min": stats.duration_min if samples else 0.0,
            "max": stats.duration_max,
            "total": float(duration.mean[0] * duration.count) if samples else 0.0,
        },
        "duration_histogram": histogram_in_bin_order(stats.duration_histogram),
        "original_sample_rates": {int(k): v for k, v in stats.sample_rates.items()},
        "original_channels": {int(k): v for k, v in stats.channels.items()},
        # Which decoder read how many samples, and from which container/codec.
        "decoders": _most_common_first(stats.decoders),
        "formats": _most_common_first(stats.formats),
        # Files whose float samples past full scale (at most +6 dBFS) were clipped.
        "clipped_overs": _split_label_counts(stats.clipped_overs),
        "normalization": {
            "split": TRAINING,
            "num_samples": sum(stats.samples[count_key(TRAINING, label)] for label in LABEL_NAMES),
            "band_mean": stats.band_moments.mean.astype("float32"),
            "band_std": stats.band_moments.std.astype("float32"),
            "channel_mean": stats.channel_moments.mean.astype("float32"),
            "channel_std": stats.channel_moments.std.astype("float32"),
        },
        "batches": {split: batch_counts[split] for split in SPLITS},
        "total_batches": sum(batch_counts[split] for split in SPLITS),
        "output_bytes": output_bytes,
        # The model whose batch files these are too (hard links: on disk once), if any.
        "shared_with": chunk_metadata.get("shared_with"),
    }


def _most_common_first(counts: Counter) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def attack_counts(stats: ChunkStats) -> dict[str, dict[str, dict[str, int]]]:
    """samples[split][attack][real|fake]; attack "-" is bona fide or unknown."""
    nested: dict[str, dict[str, dict[str, int]]] = {split: {} for split in SPLITS}
    for key, count in sorted(stats.attacks.items()):
        split, attack, label = split_attack_label(key)
        per_label = nested[split].setdefault(attack, dict.fromkeys(LABELS, 0))
        per_label[LABEL_NAMES[label]] += count
    return nested


def balance_warnings(samples: dict[str, dict[str, int]]) -> list[str]:
    """A split with samples of only one class, or none, cannot train or evaluate a detector."""
    warnings = []
    for split, counts in samples.items():
        present = [name for name, n in counts.items() if n]
        if not present:
            warnings.append(f"{split} has no samples")
        elif len(present) == 1:
            warnings.append(f"{split} has only {present[0]} samples ({counts[present[0]]})")
    return warnings


def copy_counts(augmented: dict[str, dict[str, Any]], failed: Counter) -> dict[str, Any]:
    """``dataset_stats['augmented']``: per copies' split, samples, batches, kinds and the
    copies that failed, in split order."""
    splits = [augmented_split(split) for split in SPLITS]
    return {
        split: {
            **augmented.get(split, {"samples": 0, "batches": 0}),
            "kinds": dict(sorted(augmented.get(split, {}).get("kinds", Counter()).items())),
            "failed": failed.get(split, 0),
        }
        for split in splits
        if split in augmented or split in failed
    }


def count_copies(records: Sequence[dict], augmented: dict[str, dict[str, Any]]) -> None:
    """Samples, batches and kinds of the augmented copies, by their split."""
    for record in records:
        if "augmentations" not in record:
            continue
        counts = augmented.setdefault(
            record["split"], {"samples": 0, "batches": 0, "kinds": Counter()}
        )
        counts["samples"] += record["num_samples"]
        counts["batches"] += 1
        counts["kinds"].update(_kind_name(drawn) for drawn in record["augmentations"])


def _kind_name(drawn: dict[str, Any]) -> str:
    """ "codec mp3", "rawboost 3", "telephone": the pool entry a copy was drawn from."""
    detail = drawn.get("codec") or drawn.get("algorithm")
    return f"{drawn['kind']} {detail}" if detail else drawn["kind"]


# What each count of read_leak_summary is, for the warning: (key, one, more than one).
LEAK_WORDS = (
    ("split_leaks", "recording in two or more splits", "recordings in two or more splits"),
    ("label_conflicts", "recording under both labels", "recordings under both labels"),
    ("corpus_duplicates", "recording in two or more corpora", "recordings in two or more corpora"),
    ("shared_speakers", "speaker in training and testing", "speakers in training and testing"),
    ("shared_sources", "source shared by corpora", "sources shared by corpora"),
)


def leak_text(leakage: dict[str, Any]) -> str:
    """The leakage summary as a sentence: "identical audio across splits or labels: 2
    recordings in two or more splits, 1 recording under both labels (5 files)"."""
    found = [
        f"{leakage[key]} {one if leakage[key] == 1 else more}"
        for key, one, more in LEAK_WORDS
        if leakage.get(key)
    ]
    files = leakage["files_involved"]
    # A manifest of corpora (its summary has shared_sources) checks speakers and sources too.
    what = "leakage across splits, labels or corpora" if "shared_sources" in leakage else ""
    # Shared sources name corpora, not files: no "(0 files)" when they are all there is.
    involved = f" ({files} file{'' if files == 1 else 's'})" if files else ""
    what = what or "identical audio across splits or labels"
    return f"{what}: {', '.join(found) or 'none'}{involved}"


def add_warnings(
    summary: dict[str, Any],
    stats: ChunkStats,
    leakage_path: str | Path | None,
    failed_copies: Counter,
    copy_failures_path: str | Path | None,
) -> None:
    """Add the attacks table and the warnings to ``summary``, and log each warning."""
    summary["attacks"] = attack_counts(stats)
    summary["warnings"] = balance_warnings(summary["samples"])
    if leakage_path is not None:
        summary["leakage"] = read_leak_summary(leakage_path)
        # Shared sources name corpora, not files: reported with or without files involved.
        if summary["leakage"]["files_involved"] or summary["leakage"].get("shared_sources"):
            summary["warnings"].append(f"{leak_text(summary['leakage'])}; see {leakage_path}")
    summary["warnings"].extend(item["message"] for item in summary["shortcuts"]["flagged"])
    summary["warnings"].extend(
        f"{failed} augmented copies of {split} could not be made; see {copy_failures_path}"
        for split, failed in failed_copies.items()
    )
    for warning in summary["warnings"]:
        log.warning("%s", warning)


def corpus_counts(
    manifest_path: str | Path | None, failures_path: str | Path
) -> dict[str, dict[str, Any]]:
    """``dataset_stats['corpora']``: per corpus, its files, and its samples, failures and
    attacks (of its samples) per split and label, as the whole document has them; {} for a
    single dataset's manifest (no ``corpus`` column).

    A failure (``failures.csv``: path, split, label) is the corpus's whose manifest row has
    that path, split and label; the manifest is streamed, the failures held (a few percent of
    the files at most, or the run stops).
    """
    if manifest_path is None or not manifest_has_corpus(manifest_path):
        return {}
    with open(failures_path, newline="", encoding="utf-8") as handle:
        failed = Counter(
            (record["path"], record["split"], int(record["label"]))
            for record in csv.DictReader(handle)
        )
    samples: dict[str, Counter] = {}
    failures: dict[str, Counter] = {}
    attacks: dict[str, Counter] = {}
    for row in iter_manifest(manifest_path):
        key = (row.path, row.split, row.label)
        if failed[key]:
            failed[key] -= 1
            failures.setdefault(row.corpus, Counter())[(row.split, row.label)] += 1
            continue
        samples.setdefault(row.corpus, Counter())[(row.split, row.label)] += 1
        attack = row.attack if row.label and row.attack else "-"
        attacks.setdefault(row.corpus, Counter())[(row.split, attack, row.label)] += 1
    corpora: dict[str, dict[str, Any]] = {}
    for corpus in sorted(set(samples) | set(failures)):
        ok, bad = samples.get(corpus, Counter()), failures.get(corpus, Counter())
        nested: dict[str, dict[str, dict[str, int]]] = {split: {} for split in SPLITS}
        for (split, attack, label), count in sorted(attacks.get(corpus, Counter()).items()):
            per_label = nested[split].setdefault(attack, dict.fromkeys(LABELS, 0))
            per_label[LABEL_NAMES[label]] += count
        corpora[corpus] = {
            "total_files": sum(ok.values()) + sum(bad.values()),
            "total_samples": sum(ok.values()),
            "total_failures": sum(bad.values()),
            "samples": _per_split_label(ok),
            "failures": _per_split_label(bad),
            "attacks": nested,
        }
    return corpora


def _per_split_label(counts: Counter) -> dict[str, dict[str, int]]:
    return {
        split: {name: counts[(split, number)] for number, name in LABEL_NAMES.items()}
        for split in SPLITS
    }


def check_identity(summary: dict[str, Any], total_files: int) -> None:
    """Every file of the manifest is a sample or a failure; anything else is a bug. With
    corpora, each corpus's counts add up to the totals too."""
    accounted = summary["total_samples"] + summary["total_failures"]
    if accounted != total_files:
        raise RuntimeError(
            f"accounting error: manifest has {total_files} files but {summary['total_samples']} "
            f"samples + {summary['total_failures']} failures = {accounted}"
        )
    corpora = summary.get("corpora") or {}
    for total in ("total_files", "total_samples", "total_failures"):
        if corpora and sum(c[total] for c in corpora.values()) != summary[total]:
            raise RuntimeError(
                f"accounting error: the corpora's {total} add up to "
                f"{sum(c[total] for c in corpora.values())}, not {summary[total]}"
            )


class CorpusOfSamples:
    """The corpus of each sample, for tables in manifest order with failures left out (the
    batches of a split, ``properties.csv``): a walk along the manifest in step with them, so
    nothing is held but the current row.

    ``split``: only that split's rows (an augmented split's: its clean split's). ``repeats``:
    one row may give several samples in a row (augmented copies of one file)."""

    def __init__(self, manifest_path: str | Path, split: str | None = None, repeats: bool = False):
        self._path = manifest_path
        self._rows = (
            row for row in iter_manifest(manifest_path) if split is None or row.split == split
        )
        self._repeats = repeats
        self._current = None

    def corpus(self, path: str, split: str | None = None) -> str:
        """The corpus of the next sample, the file ``path`` (of ``split``, if given)."""
        row = self._current
        while row is None or row.path != path or (split is not None and row.split != split):
            row = next(self._rows, None)
            if row is None:
                raise RuntimeError(
                    f"accounting error: sample {path} ({split or 'any split'}) is not in "
                    f"{self._path} after the samples before it"
                )
        self._current = row if self._repeats else None
        return row.corpus


def sample_corpora(manifest_path: str | Path | None) -> bool:
    """Whether samples have a corpus to record (the manifest was built from ``corpora``)."""
    return manifest_path is not None and manifest_has_corpus(manifest_path)
