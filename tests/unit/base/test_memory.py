"""base/memory.py: per-file buffers are reused, not faulted in afresh for every file; the memory
mode chosen from the memory there is."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from fraudprep.base.memory import (
    GB,
    mode_for_available_memory,
    release_freed_memory,
    resolve_memory_mode,
    reuse_freed_memory,
)

BUFFER_FLOATS = 1 << 18  # 1 MB of float32, like one clip's STFT frames
BUFFERS_PER_FILE = 4  # frames, spectrum, power, image: freed together after each file
PAGES_PER_FILE = BUFFERS_PER_FILE * BUFFER_FLOATS * 4 // 4096


def _minor_faults_for_files(count: int) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        buffers = [np.ones(BUFFER_FLOATS, dtype=np.float32) for _ in range(BUFFERS_PER_FILE)]
        sum(buffer.sum() for buffer in buffers)
        del buffers
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_buffers_are_reused_without_page_faults():
    assert reuse_freed_memory()
    _minor_faults_for_files(2)  # the first file's buffers are faulted in once
    faults = _minor_faults_for_files(50)
    # Given back to the kernel after each file (glibc's default), this is 50 x 1024 faults.
    assert faults < 50 * PAGES_PER_FILE // 10
    release_freed_memory()


@pytest.mark.parametrize(
    ("gigabytes", "expected"),
    [(24, ("standard", 8)), (8, ("standard", 4)), (4, ("low", 2)), (2, ("very_low", 1))],
)
def test_auto_mode_follows_the_seed_guidelines(gigabytes, expected):
    assert mode_for_available_memory(gigabytes * GB) == expected


def test_auto_mode_logs_its_choice(caplog):
    caplog.set_level("INFO")
    assert resolve_memory_mode("auto", 5 * GB) == ("low", 2)
    assert "memory_mode auto: 5.0 GB available -> low mode, batch size 2" in caplog.text
