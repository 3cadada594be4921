"""The ``noise`` kind: a file of a folder (any format fraudprep reads) mixed in at an SNR drawn
from ``snr_db``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.config import parse_range
from fraudprep.extraction.augment.folders import audio_folder, load_folder_file
from fraudprep.extraction.augment.registry import Augmentation, Kind, register

# Longest stretch of a noise file read: enough variety for any clip, and a bound on the
# memory the file cache (folders.load_folder_file) holds.
NOISE_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Noise(Augmentation):
    dir: Path
    files: tuple[Path, ...]
    snr_db: tuple[float, float]


def parse_noise(entry: Mapping[str, Any], where: str, base: Path | None = None) -> Noise:
    folder, files = audio_folder(entry, "dir", where, base)
    return Noise(folder, files, parse_range(entry, "snr_db", where, None, (-20.0, 100.0)))


def apply_noise(
    x: np.ndarray, rate: int, entry: Noise, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    path = entry.files[int(rng.integers(len(entry.files)))]
    snr = float(rng.uniform(*entry.snr_db))
    noise = load_folder_file(path, rate, NOISE_MAX_SECONDS)
    # A random stretch of the noise, looped if the file is shorter than the clip.
    start = int(rng.integers(len(noise)))
    picked = np.take(noise, np.arange(start, start + len(x)), mode="wrap").astype(np.float64)
    drawn = {"kind": "noise", "file": path.name, "snr_db": snr, "offset": start}
    signal_power = float(np.mean(np.square(x, dtype=np.float64)))
    noise_power = float(np.mean(np.square(picked)))
    if signal_power == 0 or noise_power == 0:
        return x, drawn  # nothing to set an SNR against
    scale = math.sqrt(signal_power / (noise_power * 10 ** (snr / 10)))
    return x + picked * scale, drawn


register(
    Kind(
        name="noise",
        position=4,
        entry=Noise,
        keys=frozenset({"dir", "snr_db"}),
        parse=parse_noise,
        apply=apply_noise,
    )
)
