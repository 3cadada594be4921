"""fraudprep: bounded-memory feature extraction for audio-deepfake detectors.

Reading outputs back: ``fraudprep.load``, ``fraudprep.iter_batches``,
``fraudprep.BatchDataset``, ``fraudprep.read_metadata``, ``fraudprep.read_dataset_stats``
(see :mod:`fraudprep.loader`).
"""

from fraudprep.loader import BatchDataset, iter_batches, load, read_dataset_stats, read_metadata

__all__ = ["BatchDataset", "iter_batches", "load", "read_dataset_stats", "read_metadata"]
__version__ = "0.1.0"
