"""The config's ``augmentation`` block: the plan (copies, splits, seed) and its pool, each
entry parsed by its kind after the checks every entry shares (a mapping, a known ``kind``,
no unknown key), and the parse of a (low, high) range the kinds share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.copies import choose, copy_rng
from fraudprep.extraction.augment.registry import Augmentation, kind_named, kind_names
from fraudprep.inputs.manifest import SPLITS


class AugmentationConfigError(ValueError):
    """A pool entry that cannot be used; the message names the entry and the key."""


def parse_pool(
    pool: Sequence[Mapping[str, Any]], where: str = "augmentation.pool", base: Path | None = None
) -> list[Augmentation]:
    """The config's pool as entries; relative folders are taken from ``base`` (the working
    directory if None). Raises AugmentationConfigError naming ``where[i]`` and the key."""
    if not isinstance(pool, Sequence) or isinstance(pool, str) or not pool:
        raise AugmentationConfigError(f"{where}: must be a non-empty list of entries")
    return [parse_entry(entry, f"{where}[{i}]", base) for i, entry in enumerate(pool)]


def parse_entry(entry: Mapping[str, Any], where: str, base: Path | None = None) -> Augmentation:
    if not isinstance(entry, Mapping):
        raise AugmentationConfigError(f"{where}: must be a mapping with a 'kind', not {entry!r}")
    name, names = entry.get("kind"), kind_names()
    # Looked up in a tuple, not the registry's dict: a kind that is not a string (a list, say)
    # is an error in the config, not a TypeError of an unhashable key.
    if name not in names:
        raise AugmentationConfigError(
            f"{where}: kind must be one of {', '.join(names)}, not {name!r}"
        )
    kind = kind_named(name)
    unknown = sorted(set(entry) - kind.accepted_keys)
    if unknown:
        raise AugmentationConfigError(
            f"{where}: unknown key {unknown[0]!r} for kind {kind.name}; "
            f"it takes {', '.join(sorted(kind.accepted_keys))}"
        )
    return kind.parse(entry, where, base)


def parse_range(
    entry: Mapping[str, Any],
    key: str,
    where: str,
    default: tuple[float, float] | None,
    limits: tuple[float, float],
) -> tuple[float, float]:
    """``entry[key]`` as (low, high): two numbers, low <= high, within ``limits``."""
    if key not in entry:
        if default is None:
            raise AugmentationConfigError(f"{where}: {key} is required (two numbers low <= high)")
        return default
    value = entry[key]
    numbers = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) for v in value)
    )
    if not numbers or value[0] > value[1]:
        raise AugmentationConfigError(
            f"{where}: {key} must be two numbers low <= high, not {value!r}"
        )
    if value[0] < limits[0] or value[1] > limits[1]:
        raise AugmentationConfigError(
            f"{where}: {key} must lie within [{limits[0]:g}, {limits[1]:g}], not {value!r}"
        )
    return (float(value[0]), float(value[1]))


# More copies than this per file is surely a typo: each costs what the file does.
MAX_COPIES = 100


@dataclass(frozen=True)
class AugmentationPlan:
    """The ``augmentation`` block: ``copies`` per file of ``splits``, each one entry of
    ``pool`` drawn with :func:`copy_rng` from the file's key, the copy's index and ``seed``."""

    copies: int
    splits: tuple[str, ...]
    seed: int
    pool: tuple[Augmentation, ...]

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None, base: Path | None = None):
        """None when the block is absent or asks for no copies (nothing changes then)."""
        if not block or not block.get("copies"):
            return None
        copies, splits = block["copies"], tuple(block.get("splits") or ("training",))
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
            raise AugmentationConfigError(
                f"augmentation.copies must be a whole number, not {copies!r}"
            )
        if copies > MAX_COPIES:
            raise AugmentationConfigError(
                f"augmentation.copies {copies} is more than {MAX_COPIES} per file: each copy "
                "costs about what the file itself does, in time and disk; draw fewer"
            )
        unknown = [split for split in splits if split not in SPLITS]
        if unknown:
            raise AugmentationConfigError(
                f"augmentation.splits: {unknown[0]!r} is not one of {', '.join(SPLITS)}"
            )
        seed = block.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise AugmentationConfigError(f"augmentation.seed must be an integer, not {seed!r}")
        return cls(copies, splits, seed, tuple(parse_pool(block.get("pool") or [], base=base)))

    def draw(self, file_key: str, index: int) -> tuple[Augmentation, np.random.Generator]:
        """The pool entry of copy ``index`` of one file and the generator for its parameters:
        the same whenever asked, so that each sample rate's copy makes the same choices."""
        rng = copy_rng(file_key, index, self.seed)
        return choose(self.pool, rng), rng
