"""base/extsort.py: the external sort of the manifest step, in runs spilled to disk and merged.

Most tests lower ``RUN_SIZE`` to a handful of rows (the tiny_runs fixture) so that small inputs
take the spill-and-merge path a million-row manifest takes, and compare with the in-memory
result.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import (
    random_rows,
    sorted_externally,
    spill_dirs,
)

from fraudprep.base.extsort import ExternalSort
from fraudprep.inputs.manifest import row_sort_key


def test_multi_run_sort_equals_in_memory_sort(tiny_runs: int, tmp_path: Path):
    rows = random_rows(200)  # repeated paths: equal keys must keep their input order (stable)
    with ExternalSort(row_sort_key, tmp_path) as sorter:
        sorter.extend(rows)
        assert list(sorter) == sorted(rows, key=row_sort_key)
        assert sorter.spilled_runs == 200 // tiny_runs + 1
        assert list(sorter) == sorted(rows, key=row_sort_key)  # iterable twice
        assert spill_dirs(tmp_path)
    assert not spill_dirs(tmp_path)


def test_small_input_stays_in_memory(tmp_path: Path):
    rows = random_rows(50)
    with ExternalSort(row_sort_key, tmp_path) as sorter:
        sorter.extend(rows)
        assert list(sorter) == sorted(rows, key=row_sort_key)
        assert sorter.spilled_runs == 0
        assert not spill_dirs(tmp_path)


def test_spilled_runs_are_removed_on_error(tiny_runs: int, tmp_path: Path):
    with pytest.raises(RuntimeError), ExternalSort(spill_dir=tmp_path) as sorter:
        sorter.extend(range(10))
        assert spill_dirs(tmp_path)
        raise RuntimeError("boom")
    assert not spill_dirs(tmp_path)
    stream = sorted_externally([5, 3, 9, 1, 7, 2, 8], spill_dir=tmp_path)
    assert next(stream) == 1
    stream.close()  # a stream abandoned half way cleans up too
    assert not spill_dirs(tmp_path)


def test_runs_left_by_a_killed_sort_are_removed_by_the_next(tiny_runs: int, tmp_path: Path):
    dead_pid = 2**22 + 4321  # above Linux's pid_max: no such process
    leftover = tmp_path / f".extsort-{dead_pid}-abc123"
    leftover.mkdir()
    (leftover / "run00000.pickle").write_bytes(b"half a run")
    running = tmp_path / f".extsort-{os.getpid()}-def456"  # a live process's: kept
    running.mkdir()
    with ExternalSort(spill_dir=tmp_path) as sorter:
        sorter.extend(range(10))
        assert not leftover.exists()
        assert running.exists()
