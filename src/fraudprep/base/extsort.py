"""External (spill-to-disk) sort: sorted output of any number of items in bounded memory.

A million-row manifest held as Python objects takes close to a gigabyte. Instead, items are
gathered into runs of at most ``RUN_SIZE``, each run is sorted and written to a temporary
file, and the runs are merged with :func:`heapq.merge`, which holds one block per run. An
input that fits in one run is sorted in memory and never touches the disk.
"""

from __future__ import annotations

import heapq
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from fraudprep.base.processes import process_is_gone

T = TypeVar("T")

# Items per run: 50,000 manifest rows take ~25 MB, and as much again for their sort keys
# while a run is sorted, which keeps the manifest step well under the 150 MB a job may use
# whatever the dataset size. Tests set it to a handful to exercise the merge of many runs.
RUN_SIZE = 50_000
# Items pickled together: one pickle call per item would dominate the time; the merge holds
# one block per run, so memory is about runs x BLOCK items.
BLOCK = 1_000
# Run directories are named by process id, so that leftovers of a killed sort can be told
# from a running one's and removed.
SPILL_PREFIX = ".extsort-"


class ExternalSort(Generic[T]):
    """Add items, then iterate them in sorted order (as often as needed); close to clean up.

    Use as a context manager: the temporary directory of runs is removed on exit, also when
    an exception is raised. ``key`` is as for :func:`sorted`; the sort is stable, so items
    with equal keys come out in the order they were added.
    """

    def __init__(
        self,
        key: Callable[[T], Any] | None = None,
        spill_dir: str | os.PathLike[str] | None = None,
        run_size: int | None = None,
    ) -> None:
        self.key = key
        self.spill_dir = spill_dir
        self.run_size = run_size or RUN_SIZE  # read at call time, so tests can lower RUN_SIZE
        self.count = 0
        self._buffer: list[T] = []
        self._runs: list[Path] = []
        self._tmp: Path | None = None

    def __enter__(self) -> ExternalSort[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, item: T) -> None:
        self._buffer.append(item)
        self.count += 1
        if len(self._buffer) >= self.run_size:
            self._spill()

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.add(item)

    @property
    def spilled_runs(self) -> int:
        return len(self._runs)

    def _spill(self) -> None:
        self._buffer.sort(key=self.key)
        if self._tmp is None:
            _remove_dead_spills(self.spill_dir)
            prefix = f"{SPILL_PREFIX}{os.getpid()}-"
            self._tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=self.spill_dir))
        run = self._tmp / f"run{len(self._runs):05d}.pickle"
        with open(run, "wb") as handle:
            for start in range(0, len(self._buffer), BLOCK):
                pickle.dump(self._buffer[start : start + BLOCK], handle, pickle.HIGHEST_PROTOCOL)
        self._runs.append(run)
        self._buffer = []

    def __iter__(self) -> Iterator[T]:
        """Every item added so far, sorted. Items added later are not seen by this iteration."""
        if not self._runs:
            # Fits in one run: sort in place, no files. Sorting a sorted list again is cheap.
            self._buffer.sort(key=self.key)
            return iter(list(self._buffer))
        if self._buffer:
            self._spill()  # the merge reads every run from disk, the last one too
        return heapq.merge(*(_read_run(run) for run in self._runs), key=self.key)

    def close(self) -> None:
        self._buffer = []
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._runs = []


def _remove_dead_spills(spill_dir: str | os.PathLike[str] | None) -> None:
    """Delete run directories left by sorts whose process was killed (named by its pid)."""
    parent = Path(spill_dir) if spill_dir is not None else Path(tempfile.gettempdir())
    for leftover in parent.glob(f"{SPILL_PREFIX}*-*"):
        owner = leftover.name[len(SPILL_PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and process_is_gone(int(owner)):
            shutil.rmtree(leftover, ignore_errors=True)


def _read_run(run: Path) -> Iterator[Any]:
    with open(run, "rb") as handle:
        while True:
            try:
                block = pickle.load(handle)
            except EOFError:
                return
            yield from block
