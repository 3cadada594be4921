"""The ``dataset_stats`` document of one model, from its chunks' merged statistics: counts per
split and label, durations, decoders and formats, normalisation moments, attacks, augmented
copies, and the warnings a user must read."""

from __future__ import annotations

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
from fraudprep.inputs.manifest import LABEL_NAMES, LABELS, SPLITS, TRAINING, augmented_split

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
        if summary["leakage"]["files_involved"]:
            summary["warnings"].append(
                f"identical audio across splits or labels: {summary['leakage']}; see {leakage_path}"
            )
    summary["warnings"].extend(item["message"] for item in summary["shortcuts"]["flagged"])
    summary["warnings"].extend(
        f"{failed} augmented copies of {split} could not be made; see {copy_failures_path}"
        for split, failed in failed_copies.items()
    )
    for warning in summary["warnings"]:
        log.warning("%s", warning)


def check_identity(summary: dict[str, Any], total_files: int) -> None:
    """Every file of the manifest is a sample or a failure; anything else is a bug."""
    accounted = summary["total_samples"] + summary["total_failures"]
    if accounted != total_files:
        raise RuntimeError(
            f"accounting error: manifest has {total_files} files but {summary['total_samples']} "
            f"samples + {summary['total_failures']} failures = {accounted}"
        )
