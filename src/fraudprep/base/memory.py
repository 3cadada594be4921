"""Memory monitoring in the words the seed's users know, and the memory-mode table.

The seed printed ``Initial memory usage: 245.32 MB`` and warned when the system ran above
85 % of its memory; extraction jobs log the same lines so existing habits (grepping logs for
them) keep working.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import resource
from dataclasses import dataclass, field

import psutil

log = logging.getLogger(__name__)

# Numerical libraries start one thread per core by default; several extraction jobs side by
# side would then oversubscribe the CPU and multiply per-thread buffers. One thread each.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
HIGH_MEMORY_FRACTION = 0.85
# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MB = 1024 * 1024
GB = 1024 * MB


def limit_threads(environ: dict[str, str] | None = None) -> None:
    """Set the seed's one-thread environment variables, keeping values the user chose."""
    environ = os.environ if environ is None else environ
    for name in THREAD_ENV_VARS:
        environ.setdefault(name, "1")


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def reuse_freed_memory(keep_bytes: int = 32 * MB) -> bool:
    """Keep freed blocks of up to ``keep_bytes`` in the heap for the next file (glibc only).

    By default glibc hands every freed block above ~128 KB back to the kernel; each file's
    1 MB frame and spectrum buffers then come back as fresh pages to fault in and zero, which
    measured 0.75 ms of a 1.1 ms STFT. Reused, the same buffers cost nothing; the peak is
    unchanged (the blocks are freed and taken again, one file's worth), only returning memory
    to the system waits until the job ends or :func:`check_system_memory` asks for it.
    Returns False where the C library has no ``mallopt`` (macOS, musl), changing nothing.
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, keep_bytes)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, 2 * keep_bytes)
    )


def release_freed_memory() -> None:
    """Give the heap's free blocks back to the system (under memory pressure)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def rss_mb() -> float:
    """This process's resident memory in MB."""
    return psutil.Process().memory_info().rss / MB


def available_memory_gb() -> float:
    return psutil.virtual_memory().available / GB


def peak_rss_mb() -> float:
    """This process's peak resident memory so far in MB (the kernel's high-water mark).

    VmHWM, not getrusage's ru_maxrss: a job is forked from Snakemake and then executes
    Python, and ru_maxrss keeps the (larger) peak of the forked Snakemake process.
    """
    peak = vm_hwm_mb()
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Process ``pid``'s peak resident memory in MB (VmHWM), or None where it cannot be read:
    the process has gone, or the system has no /proc. Watching another process's peak (as
    ``make bench`` does for Snakemake's jobs) needs the pid; ru_maxrss has only our own."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def log_memory(label: str) -> float:
    """Log ``Memory usage <label>: X MB`` (the seed's format) and return X."""
    usage = rss_mb()
    log.info("Memory usage %s: %.2f MB", label, usage)
    return usage


def check_system_memory(threshold: float = HIGH_MEMORY_FRACTION) -> bool:
    """Warn and collect garbage when the whole system is above ``threshold`` of its memory."""
    percent = psutil.virtual_memory().percent
    if percent / 100 <= threshold:
        return False
    log.warning(
        "High memory usage: system at %.1f%% (above %.0f%%); running cleanup. "
        "If jobs get killed, lower batch_size or use memory_mode: low",
        percent,
        threshold * 100,
    )
    gc.collect()
    release_freed_memory()
    return True


@dataclass(frozen=True)
class MemoryMode:
    """What a memory mode changes: the batch size and caps on the feature profile."""

    name: str
    batch_size: int
    profile_caps: dict[str, float] = field(default_factory=dict)


# The seed's table: standard settings, and for low memory 5 s clips, 64 mels, 128-px images.
_LOW_CAPS = {"duration": 5.0, "n_mels": 64, "height": 128, "width": 128}
MEMORY_MODES = {
    "standard": MemoryMode("standard", batch_size=8),
    "low": MemoryMode("low", batch_size=2, profile_caps=_LOW_CAPS),
    "very_low": MemoryMode("very_low", batch_size=1, profile_caps=_LOW_CAPS),
}


def mode_for_available_memory(available_bytes: int) -> tuple[str, int]:
    """Pick (memory mode, batch size) from available RAM, following the seed's guidelines.

    The seed advised: 8 GB -> batch 4 standard; 4 GB -> batch 2, low; 2 GB -> batch 1, very low.
    With twice that or more, the seed's standard batch of 8 is safe.
    """
    if available_bytes >= 16 * GB:
        return "standard", 8
    if available_bytes >= 8 * GB:
        return "standard", 4
    if available_bytes >= 4 * GB:
        return "low", 2
    return "very_low", 1


def resolve_memory_mode(requested: str, available_bytes: int | None = None) -> tuple[str, int]:
    """Turn ``memory_mode`` from the config into (mode, default batch size), logging auto picks."""
    if requested != "auto":
        if requested not in MEMORY_MODES:
            raise ValueError(
                f"memory_mode {requested!r} is not one of {[*sorted(MEMORY_MODES), 'auto']}"
            )
        return requested, MEMORY_MODES[requested].batch_size
    if available_bytes is None:
        available_bytes = psutil.virtual_memory().available
    mode, batch_size = mode_for_available_memory(available_bytes)
    log.info(
        "memory_mode auto: %.1f GB available -> %s mode, batch size %d",
        available_bytes / GB,
        mode,
        batch_size,
    )
    return mode, batch_size
