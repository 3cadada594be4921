"""The ``reverb`` kind: a copy convolved with a room impulse response of a folder, aligned on
its direct path, its level kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.dsp import fft_convolve
from fraudprep.extraction.augment.folders import audio_folder, load_folder_file
from fraudprep.extraction.augment.registry import Augmentation, Kind, register

# Longest stretch of an impulse-response file read: enough for any clip, and a bound on the
# memory the file cache (folders.load_folder_file) holds.
RIR_MAX_SECONDS = 10.0


@dataclass(frozen=True)
class Reverb(Augmentation):
    rir_dir: Path
    files: tuple[Path, ...]


def parse_reverb(entry: Mapping[str, Any], where: str, base: Path | None = None) -> Reverb:
    folder, files = audio_folder(entry, "rir_dir", where, base)
    return Reverb(folder, files)


def apply_reverb(
    x: np.ndarray, rate: int, entry: Reverb, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    path = entry.files[int(rng.integers(len(entry.files)))]
    rir = load_folder_file(path, rate, RIR_MAX_SECONDS).astype(np.float64)
    drawn = {"kind": "reverb", "file": path.name}
    if not np.any(rir):
        return x, drawn
    # Start at the direct path (the RIR's peak), so the copy is not delayed by the
    # source-microphone distance, and keep the input's RMS level.
    direct = int(np.argmax(np.abs(rir)))
    wet = fft_convolve(x, rir[direct:])[: len(x)]
    wet_rms = math.sqrt(float(np.mean(np.square(wet))))
    dry_rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64))))
    if wet_rms == 0:
        return x, drawn
    return wet * (dry_rms / wet_rms), drawn


register(
    Kind(
        name="reverb",
        position=5,
        entry=Reverb,
        keys=frozenset({"rir_dir"}),
        parse=parse_reverb,
        apply=apply_reverb,
    )
)
