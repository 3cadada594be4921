"""Dataset statistics accumulated per chunk and merged exactly, never by re-reading data.

Means and variances use Chan et al.'s pairwise update (count, mean, sum of squared
deviations), so merging chunk statistics gives the same result as one pass over all samples
(up to float rounding), with memory independent of the dataset size.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fraudprep.inputs.manifest import TRAINING


def count_key(split: str, *parts: object) -> str:
    """The key of a count by split (and attack, label...): ``"training/1"``. Counters are
    keyed by strings because chunk.json stores them as JSON objects."""
    return "/".join([split, *map(str, parts)])


def split_attack_label(key: str) -> tuple[str, str, int]:
    """(split, attack, label) back from a ``count_key(split, attack, label)``; attack names
    may hold slashes of their own."""
    split, rest = key.split("/", 1)
    attack, label = rest.rsplit("/", 1)
    return split, attack, int(label)


@dataclass
class Moments:
    """Count, mean and M2 (sum of squared deviations) of a vector-valued quantity."""

    count: int = 0
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    m2: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def merge(self, other: Moments) -> Moments:
        """Chan's parallel combination of two sets of moments."""
        if other.count == 0:
            return self
        if self.count == 0:
            return Moments(other.count, other.mean.copy(), other.m2.copy())
        total = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / total)
        m2 = self.m2 + other.m2 + np.square(delta) * (self.count * other.count / total)
        return Moments(total, mean, m2)

    def add_observations(self, values: np.ndarray) -> Moments:
        """Merge observations laid out as (n, dims) into these moments."""
        values = np.asarray(values, dtype=np.float64)
        mean = values.mean(axis=0)
        batch = Moments(len(values), mean, np.square(values - mean).sum(axis=0))
        return self.merge(batch)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / self.count) if self.count else np.zeros_like(self.mean)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean.tolist(), "m2": self.m2.tolist()}

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Moments:
        return cls(values["count"], np.asarray(values["mean"]), np.asarray(values["m2"]))


def sample_moments(features: np.ndarray) -> tuple[Moments, Moments]:
    """Per-band and per-channel moments of one sample, computed without float64 copies.

    Rows of a mel image are mel bands (resized) and rows of an LFCC matrix are coefficients,
    so per-band statistics are per-row; a waveform is one band. The channels of our
    three-channel images are copies (R = G = B), so the first stands for all of them.
    """
    plane = features[..., 0] if features.ndim == 3 else features
    plane = plane.reshape(1, -1) if plane.ndim == 1 else plane
    per_band = plane.shape[1]
    band_mean = plane.mean(axis=1, dtype=np.float64)
    deviations = plane - band_mean.astype(plane.dtype)[:, None]
    band_m2 = np.einsum("ij,ij->i", deviations, deviations, dtype=np.float64)
    bands = Moments(per_band, band_mean, band_m2)
    # The whole plane's moments, merged from its rows' (Chan's formula).
    mean = band_mean.mean()
    m2 = band_m2.sum() + per_band * np.square(band_mean - mean).sum()
    channel_count = features.shape[2] if features.ndim == 3 else 1
    channels = Moments(plane.size, np.full(channel_count, mean), np.full(channel_count, m2))
    return bands, channels


# Upper edges (seconds) of the duration histogram's bins; the last bin is open-ended.
DURATION_BIN_EDGES = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 60)


def duration_bin(seconds: float) -> str:
    """Label of the histogram bin holding ``seconds``, e.g. "2-3" or ">60"."""
    lower = 0.0
    for upper in DURATION_BIN_EDGES:
        if seconds < upper:
            return f"{lower:g}-{upper:g}"
        lower = upper
    return f">{lower:g}"


@dataclass
class ChunkStats:
    """Everything the aggregate rule reports, for one chunk or merged over many."""

    samples: Counter = field(default_factory=Counter)  # "split/label" -> samples written
    failures: Counter = field(default_factory=Counter)  # "split/label" -> failed files
    attacks: Counter = field(default_factory=Counter)  # "split/attack/label" -> samples
    sample_rates: Counter = field(default_factory=Counter)  # original rate -> files
    channels: Counter = field(default_factory=Counter)  # original channel count -> files
    decoders: Counter = field(default_factory=Counter)  # "libsndfile" | "ffmpeg" -> files
    formats: Counter = field(default_factory=Counter)  # "container/codec" -> files
    # "split/label" -> files with float samples past full scale clipped (see audio_io's
    # MAX_FLOAT_PEAK): a class of hot files is a shortcut, and a sign of how it was made.
    clipped_overs: Counter = field(default_factory=Counter)
    duration: Moments = field(default_factory=Moments)  # original seconds, decoded files
    duration_histogram: Counter = field(default_factory=Counter)  # bin label -> files
    duration_min: float = math.inf
    duration_max: float = 0.0
    band_moments: Moments = field(default_factory=Moments)  # training split only
    channel_moments: Moments = field(default_factory=Moments)  # training split only

    def add_sample(
        self,
        split: str,
        label: int,
        rate: int,
        channels: int,
        duration: float,
        features: np.ndarray,
        attack: str = "",
        decoder: str = "",
        file_format: str = "",
        overs: int = 0,
    ) -> None:
        self.samples[count_key(split, label)] += 1
        if overs:
            self.clipped_overs[count_key(split, label)] += 1
        self.decoders[decoder or "-"] += 1
        self.formats[file_format or "-"] += 1
        self.attacks[count_key(split, attack or "-", label)] += 1
        self.sample_rates[str(rate)] += 1
        self.channels[str(channels)] += 1
        self.duration = self.duration.add_observations(np.array([[duration]]))
        self.duration_histogram[duration_bin(duration)] += 1
        self.duration_min = min(self.duration_min, duration)
        self.duration_max = max(self.duration_max, duration)
        if split == TRAINING:
            # Normalisation statistics come from training data only, never validation/test.
            bands, channels = sample_moments(features)
            self.band_moments = self.band_moments.merge(bands)
            self.channel_moments = self.channel_moments.merge(channels)

    def add_failure(self, split: str, label: int) -> None:
        self.failures[count_key(split, label)] += 1

    def merge(self, other: ChunkStats) -> ChunkStats:
        return ChunkStats(
            samples=self.samples + other.samples,
            failures=self.failures + other.failures,
            attacks=self.attacks + other.attacks,
            sample_rates=self.sample_rates + other.sample_rates,
            channels=self.channels + other.channels,
            decoders=self.decoders + other.decoders,
            formats=self.formats + other.formats,
            clipped_overs=self.clipped_overs + other.clipped_overs,
            duration=self.duration.merge(other.duration),
            duration_histogram=self.duration_histogram + other.duration_histogram,
            duration_min=min(self.duration_min, other.duration_min),
            duration_max=max(self.duration_max, other.duration_max),
            band_moments=self.band_moments.merge(other.band_moments),
            channel_moments=self.channel_moments.merge(other.channel_moments),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": dict(sorted(self.samples.items())),
            "failures": dict(sorted(self.failures.items())),
            "attacks": dict(sorted(self.attacks.items())),
            "sample_rates": dict(sorted(self.sample_rates.items(), key=lambda kv: int(kv[0]))),
            "channels": dict(sorted(self.channels.items(), key=lambda kv: int(kv[0]))),
            "decoders": dict(sorted(self.decoders.items())),
            "formats": dict(sorted(self.formats.items())),
            "clipped_overs": dict(sorted(self.clipped_overs.items())),
            "duration": self.duration.to_json(),
            "duration_histogram": dict(sorted(self.duration_histogram.items())),
            "duration_min": None if math.isinf(self.duration_min) else self.duration_min,
            "duration_max": self.duration_max,
            "band_moments": self.band_moments.to_json(),
            "channel_moments": self.channel_moments.to_json(),
        }

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> ChunkStats:
        duration_min = values["duration_min"]
        return cls(
            samples=Counter(values["samples"]),
            failures=Counter(values["failures"]),
            attacks=Counter(values["attacks"]),
            sample_rates=Counter(values["sample_rates"]),
            channels=Counter(values["channels"]),
            decoders=Counter(values.get("decoders", {})),
            formats=Counter(values.get("formats", {})),
            clipped_overs=Counter(values.get("clipped_overs", {})),
            duration=Moments.from_json(values["duration"]),
            duration_histogram=Counter(values["duration_histogram"]),
            duration_min=math.inf if duration_min is None else duration_min,
            duration_max=values["duration_max"],
            band_moments=Moments.from_json(values["band_moments"]),
            channel_moments=Moments.from_json(values["channel_moments"]),
        )
