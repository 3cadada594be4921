"""Making one copy: its generator (:func:`copy_rng`), its pool entry (:func:`choose`), the
entry's kind applied (:func:`augment`) and what every copy promises (:func:`finish`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from fraudprep.extraction.augment.registry import Augmentation, kind_of


def copy_rng(file_key: str, copy_index: int, seed: int) -> np.random.Generator:
    """The generator of one copy: a hash of the three, so that a copy never depends on
    which chunk, process or order made it."""
    digest = hashlib.sha256(f"{seed}\x00{copy_index}\x00{file_key}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "big")))


def choose(pool: Sequence[Augmentation], rng: np.random.Generator) -> Augmentation:
    """The entry for a copy, uniformly from the pool."""
    return pool[int(rng.integers(len(pool)))]


def augment(
    samples: np.ndarray, rate: int, entry: Augmentation, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """``samples`` (mono float32 at ``rate``) through ``entry``: the copy, same rate and length,
    finite and within [-1, 1], and the parameters drawn (JSON-ready)."""
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"augment takes mono samples (1-D), not shape {x.shape}")
    kind = kind_of(entry)
    if len(x) == 0:
        return x.copy(), {"kind": kind.name}
    y, drawn = kind.apply(x, rate, entry, rng)
    return finish(y, len(x)), drawn


def finish(y: np.ndarray, length: int) -> np.ndarray:
    """Exactly ``length`` samples, float32, finite, clipped: what every copy promises."""
    y = np.asarray(y, dtype=np.float32)[:length]
    if len(y) < length:
        y = np.pad(y, (0, length - len(y)))
    y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(y, -1.0, 1.0)
