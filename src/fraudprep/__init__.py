"""fraudprep: bounded-memory feature extraction for audio-deepfake detectors.

Reading outputs back: ``fraudprep.load``, ``fraudprep.iter_batches``,
``fraudprep.iter_shuffled``, ``fraudprep.BatchDataset``, ``fraudprep.read_metadata``,
``fraudprep.read_dataset_stats`` (see :mod:`fraudprep.loader`).
"""

from typing import Any


# Imported on first use (PEP 562): workflow jobs that never read outputs back (manifest,
# chunks, settings) then start without importing numpy.
def __getattr__(name: str) -> Any:
    if name in __all__:
        from fraudprep import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'fraudprep' has no attribute {name!r}")


__all__ = [
    "BatchDataset",
    "StaleOutputsError",
    "iter_batches",
    "iter_shuffled",
    "load",
    "read_dataset_stats",
    "read_metadata",
]
__version__ = "0.1.0"
