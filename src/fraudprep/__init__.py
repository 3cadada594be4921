"""fraudprep: bounded-memory feature extraction for audio-deepfake detectors.

Reading outputs back: ``fraudprep.load``, ``fraudprep.iter_batches``,
``fraudprep.iter_shuffled``, ``fraudprep.BatchDataset``, ``fraudprep.read_metadata``,
``fraudprep.read_dataset_stats`` (see :mod:`fraudprep.outputs.loader`); tar shards streamed with
``fraudprep.iter_shards`` and ``fraudprep.ShardDataset`` (see :mod:`fraudprep.outputs.streaming`);
a batch restored as the readers restore it, ``fraudprep.restored`` (see
:mod:`fraudprep.outputs.restoring`).
The two modules themselves: ``fraudprep.loader`` and ``fraudprep.streaming``.
"""

import importlib
from typing import Any


# Imported on first use (PEP 562): workflow jobs that never read outputs back (manifest,
# chunks, settings) then start without importing numpy.
def __getattr__(name: str) -> Any:
    if name in _MODULES:  # fraudprep.loader.read_batch, as the docs write it
        return importlib.import_module(f"fraudprep.outputs.{name}")
    if name in _STREAMING:
        from fraudprep.outputs import streaming

        return getattr(streaming, name)
    if name in _RESTORING:
        from fraudprep.outputs import restoring

        return getattr(restoring, name)
    if name in __all__:
        from fraudprep.outputs import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'fraudprep' has no attribute {name!r}")


# In their own module: ShardDataset imports torch (when installed) to subclass its dataset.
_STREAMING = ("ShardDataset", "iter_shards")
# What the readers' options do to a batch, for batches read some other way (shards in torch).
_RESTORING = ("restored",)
# The reading modules by their short names (fraudprep.outputs.<name>).
_MODULES = ("loader", "streaming")


__all__ = [
    "BatchDataset",
    "DamagedOutputError",
    "ShardDataset",
    "StaleOutputsError",
    "iter_batches",
    "iter_shards",
    "iter_shuffled",
    "load",
    "read_dataset_stats",
    "read_metadata",
    "restored",
]
__version__ = "0.1.0"
