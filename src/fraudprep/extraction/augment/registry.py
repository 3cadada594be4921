"""The registry of augmentation kinds: what a kind is, how one registers, and their order.

A kind is one value of a pool entry's ``kind`` key. Each lives in a module of its own under
:mod:`.kinds`, which calls :func:`register` when imported with a :class:`Kind`: the name, its
place among the kinds, its frozen entry dataclass (a subclass of :class:`Augmentation`), the
config keys it takes, its parse and its apply.

The registry finds kinds the first time it is asked for one: it imports every module of the
``kinds`` folder (sorted by name) and each registers itself, so a new kind needs no list to
be edited. The kinds' order is their ``position``, not the order of import: it is the order in
which config errors list them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class Augmentation:
    """Base of every kind's pool entry (a frozen dataclass of the parsed config)."""


# parse(entry, where, base): the config's mapping as the kind's entry; ``where`` names it in
# errors (augmentation.pool[i]); relative folders are taken from ``base``.
Parse = Callable[[Mapping[str, Any], str, Path | None], Augmentation]
# apply(x, rate, entry, rng): the copy of ``x`` (mono float32, not empty) and what was drawn,
# JSON-ready with its "kind" first. The copy may be longer or shorter, and need not be clipped:
# copies.augment cuts, pads and clips it.
Apply = Callable[[np.ndarray, int, Any, np.random.Generator], tuple[np.ndarray, dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    """One kind of augmentation, as its module registers it."""

    name: str  # the config's ``kind``
    position: int  # its place in the list of kinds (error messages); unique
    entry: type[Augmentation]  # its frozen dataclass
    keys: frozenset[str]  # the config keys it takes, besides ``kind``
    parse: Parse
    apply: Apply

    @property
    def accepted_keys(self) -> frozenset[str]:
        return self.keys | {"kind"}


_BY_NAME: dict[str, Kind] = {}
_BY_ENTRY: dict[type, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind``; called once by its module. Two kinds with one name, entry or position
    is a mistake in the code, said at import."""
    for other in _BY_NAME.values():
        if kind.name == other.name or kind.entry is other.entry or kind.position == other.position:
            raise ValueError(f"augmentation kind {kind.name} clashes with {other.name}")
    _BY_NAME[kind.name] = kind
    _BY_ENTRY[kind.entry] = kind
    return kind


@functools.cache
def _import_kind_modules() -> None:
    from fraudprep.extraction.augment import kinds

    for name in sorted(module.name for module in pkgutil.iter_modules(kinds.__path__)):
        importlib.import_module(f"{kinds.__name__}.{name}")


def all_kinds() -> tuple[Kind, ...]:
    """Every kind, by position."""
    _import_kind_modules()
    return tuple(sorted(_BY_NAME.values(), key=lambda kind: kind.position))


def kind_names() -> tuple[str, ...]:
    return tuple(kind.name for kind in all_kinds())


def kind_named(name: str) -> Kind:
    _import_kind_modules()
    return _BY_NAME[name]


def kind_of(entry: Augmentation) -> Kind:
    """The kind whose entry ``entry`` is; TypeError for anything else."""
    _import_kind_modules()
    kind = _BY_ENTRY.get(type(entry))
    if kind is None:
        raise TypeError(f"not an augmentation entry: {entry!r}")
    return kind
