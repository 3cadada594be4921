"""The output stage every clip goes through, real or fake.

Sample rate, channels, container, gain, padding and file name are drawn from the same
distribution for both classes, independently of the label, so that format says nothing about
the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from fraudprep.base.atomic import atomic_write
from tools.demo_corpus.audio import resample

OUTPUT_RATES: tuple[int, ...] = (8000, 16000, 22050, 44100, 48000)

# Share of files per split x class that get each variant; at least one file always does,
# so even the small corpus exercises every code path downstream.
STEREO_SHARE = 0.15
FLAC_SHARE = 0.35
UPPER_EXT_SHARE = 0.07
SPACE_NAME_SHARE = 0.08
PADDED_SHARE = 0.05


@dataclass(frozen=True)
class OutputProfile:
    """How a clip is written; drawn identically for both classes."""

    rate: int
    stereo: bool
    flac: bool
    upper_ext: bool
    spaced_name: bool
    pad_lead_s: float
    pad_trail_s: float
    peak_dbfs: float
    right_gain: float

    @property
    def container(self) -> str:
        return "FLAC" if self.flac else "WAV"

    @property
    def channels(self) -> int:
        return 2 if self.stereo else 1


def _deck(n: int, share: float, rng: np.random.Generator) -> list[bool]:
    """n flags with round(n*share) (at least one) set, in a seeded random order."""
    k = min(n, max(1, round(n * share)))
    flags = np.zeros(n, dtype=bool)
    flags[:k] = True
    rng.shuffle(flags)
    return [bool(f) for f in flags]


def _padding(rng: np.random.Generator) -> tuple[float, float]:
    """Leading and trailing silence (s) of a padded clip: at both ends or at one only."""
    where = int(rng.integers(0, 3))  # 0: both ends, 1: leading only, 2: trailing only
    lead = round(float(rng.uniform(0.3, 1.0)), 2) if where in (0, 1) else 0.0
    trail = round(float(rng.uniform(0.3, 1.0)), 2) if where in (0, 2) else 0.0
    return lead, trail


def draw_profiles(n: int, rng: np.random.Generator) -> list[OutputProfile]:
    """Output profiles for one split x class; every variant appears at least once."""
    rates = [OUTPUT_RATES[i % len(OUTPUT_RATES)] for i in range(n)]
    rng.shuffle(rates)
    stereo, flac = _deck(n, STEREO_SHARE, rng), _deck(n, FLAC_SHARE, rng)
    upper, spaced = _deck(n, UPPER_EXT_SHARE, rng), _deck(n, SPACE_NAME_SHARE, rng)
    padded = _deck(n, PADDED_SHARE, rng)
    out = []
    for i in range(n):
        lead, trail = _padding(rng) if padded[i] else (0.0, 0.0)
        out.append(
            OutputProfile(
                rate=int(rates[i]),
                stereo=stereo[i],
                flac=flac[i],
                upper_ext=upper[i],
                spaced_name=spaced[i],
                pad_lead_s=lead,
                pad_trail_s=trail,
                peak_dbfs=round(float(rng.uniform(-20.0, -1.0)), 2),
                right_gain=round(float(rng.uniform(0.6, 1.0)), 3),
            )
        )
    return out


def file_name(idx: int, prof: OutputProfile, rng: np.random.Generator) -> str:
    stem = str(rng.choice(["clip_", "utt", "rec-", "sample_"])) + f"{idx:04d}"
    if prof.spaced_name:
        stem = f"clip {idx:04d} take {int(rng.integers(1, 4))}"
    ext = "flac" if prof.flac else "wav"
    return f"{stem}.{ext.upper() if prof.upper_ext else ext}"


def finish(audio: np.ndarray, rate: int, prof: OutputProfile) -> np.ndarray:
    """Apply gain, padding and channel layout; return int16 frames ready to write."""
    audio = resample(audio, rate, prof.rate)
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = audio * (10 ** (prof.peak_dbfs / 20) / peak)
    # Digital silence (exact zeros) on purpose: it is the edge case silence trimming and
    # normalisation downstream must survive.
    lead = np.zeros(int(prof.pad_lead_s * prof.rate))
    trail = np.zeros(int(prof.pad_trail_s * prof.rate))
    audio = np.concatenate([lead, audio, trail])
    if prof.stereo:
        audio = np.stack([audio, audio * prof.right_gain], axis=1)
    # Quantise ourselves so the bytes never depend on libsndfile's float conversion.
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)


def write_clip(path: Path, frames: np.ndarray, prof: OutputProfile) -> None:
    # atomic_write gets the data to disk before publish_dir renames the build into place, so
    # a power cut cannot leave a published corpus whose files are empty.
    with atomic_write(path, "wb") as handle:
        sf.write(handle, frames, prof.rate, subtype="PCM_16", format=prof.container)
