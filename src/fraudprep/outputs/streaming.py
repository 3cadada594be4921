"""Streaming a split's tar shards (``format: shards``) into training, sample by sample.

    for x, y in fraudprep.iter_shards("data/preprocessed", "resnet", "training", epoch=3):
        ...
    dataset = fraudprep.ShardDataset("data/preprocessed", "resnet", "training")
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, num_workers=2)

Shards are dealt to ranks (rank ``r`` of ``world_size`` takes every ``world_size``-th shard
from the ``r``-th) in an order shuffled by ``seed`` and ``epoch`` alone. A rank reads
``interleave`` of its shards at a time, each next sample from a random one of them, and its
DataLoader workers take every ``num_workers``-th sample of that one stream (each reads the
shards' headers and only its own samples' bytes): a shard holds one class where the corpus is
laid out by class, and dealing whole shards to workers gave batches of one class. Each worker
then mixes its samples through a bounded buffer of ``buffer_size``.

- ``exactly_once=True`` (evaluation): every sample exactly once over all ranks and workers;
  ranks may get different counts.
- ``exactly_once=False`` (training, the default): every rank yields the same number of
  samples, ``total // world_size``, as DistributedDataParallel needs (a rank with fewer
  samples on its shards repeats some of them; one with more stops early), so no rank waits
  for another at the end of an epoch.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.formats import FORMATS, decode_sample, iter_shard_members
from fraudprep.outputs.loader import (
    Restoring,
    _model_dir,
    _split_entries,
    _take_random,
    read_dataset_stats,
    segment_array,
)
from fraudprep.outputs.verify import verify_files

Loader = Callable[[], dict[str, bytes]]


def current_worker() -> tuple[int, int]:
    """(worker id, number of workers) of the torch DataLoader worker this runs in, or
    (0, 1). torch is asked only when the caller has imported it."""
    torch = sys.modules.get("torch")
    info = torch.utils.data.get_worker_info() if torch is not None else None
    return (info.id, info.num_workers) if info is not None else (0, 1)


def shard_order(entries: Sequence[Mapping[str, Any]], seed: int, epoch: int) -> list[int]:
    """The split's shards in this epoch's order: the same on every rank and worker."""
    return np.random.default_rng([seed, epoch]).permutation(len(entries)).tolist()


def rank_shards(order: Sequence[int], rank: int, world_size: int) -> list[int]:
    return list(order[rank::world_size])


def iter_shards(
    output_dir: str | Path,
    model: str,
    split: str,
    *,
    seed: int = 0,
    epoch: int = 0,
    rank: int = 0,
    world_size: int = 1,
    exactly_once: bool = False,
    shuffle: bool = True,
    buffer_size: int = 1000,
    interleave: int = 8,
    as_stored: bool = False,
    with_info: bool = False,
    normalize: str | None = None,
    channels_first: bool = False,
    as_float: bool = False,
    augmented: bool | str = False,
    worker: tuple[int, int] | None = None,
) -> Iterator[tuple]:
    """Yield ``(x, y)`` (or ``(x, y, info)``) of this rank's and this worker's samples;
    ``x`` float32 in the profile's shape, as :func:`fraudprep.iter_batches` gives it.

    ``worker``: (id, count) of the DataLoader worker; found from torch when not given.
    ``shuffle=False`` keeps the shard list's order, one shard at a time, and no buffer.
    ``interleave``: shards a rank reads at once. ``normalize``, ``channels_first``,
    ``as_float``, ``with_info`` and ``augmented`` are :func:`fraudprep.iter_batches`'s (info:
    the sample's shard record: ``label``, ``path``, ``speaker``, ``attack``, ``split``, with
    several corpora its ``corpus``, with segment labels ``segment_labels`` as an array (see
    :func:`fraudprep.outputs.loader.batch_info`) and ``segment_resolution``, and an augmented
    copy's ``augmentation``). ``as_stored``: samples as on disk (e.g.
    uint8, one channel), a quarter to a twelfth of the bytes a DataLoader worker sends;
    restore the batches in the training process with :func:`fraudprep.restored` and the
    dataset's statistics, as ``examples/train_detector.py`` does."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1} (world_size {world_size})")
    restore = Restoring(as_float, normalize, channels_first)
    worker_id, workers = worker if worker is not None else current_worker()
    model_dir = _model_dir(output_dir, model)
    stats = read_dataset_stats(output_dir, model)
    entries = _split_entries(output_dir, model, split, augmented)
    if entries and "shard_path" not in entries[0]:
        stored = stats["settings"]["storage_format"]
        raise ValueError(
            f"{model}'s outputs in {output_dir} are not shards (format {stored}); run with "
            "format: shards, or read them with fraudprep.iter_batches"
        )
    order = shard_order(entries, seed, epoch) if shuffle else list(range(len(entries)))
    mine = [entries[i] for i in rank_shards(order, rank, world_size)]
    if not mine and not exactly_once:
        # Fewer shards than ranks: a rank with none would yield nothing while the others
        # yield their share, and DistributedDataParallel would wait for it forever.
        mine = [entries[i] for i in order]
    # One stream per rank, the same in each of its workers: seeded by the rank alone.
    rng = np.random.default_rng([seed, epoch, rank])
    width = max(1, interleave) if shuffle else 1

    def read() -> Iterator[Loader]:
        return _interleaved([_members(entry, model_dir) for entry in mine], rng, width)

    stream = read()
    if not exactly_once:
        total = sum(entry["num_samples"] for entry in entries)
        stream = _exactly(stream, total // world_size, read)
    samples = map(_decoded, itertools.islice(stream, worker_id, None, workers))
    if shuffle:
        buffer_rng = np.random.default_rng([seed, epoch, rank, worker_id])
        samples = _shuffled(samples, buffer_rng, buffer_size)
    for features, record in samples:
        x = features if as_stored else restore(features[None], stats)[0]
        if not with_info:
            yield x, record["label"]
            continue
        if "segment_labels" in record:
            record["segment_labels"] = segment_array(record["segment_labels"])
        yield x, record["label"], record


def _shard_file(entry: Mapping[str, Any], model_dir: Path) -> Path:
    return FORMATS["shards"].entry_files(entry, model_dir)[0]


def _members(entry: Mapping[str, Any], model_dir: Path) -> Iterator[Loader]:
    """One shard's samples as loaders, opened when first asked for."""
    path = _shard_file(entry, model_dir)
    verify_files([path], entry)
    for _, load in iter_shard_members(path):
        yield load


def _decoded(load: Loader) -> tuple[np.ndarray, dict[str, Any]]:
    return decode_sample(load())


def _interleaved(
    shards: Sequence[Iterator[Loader]], rng: np.random.Generator, width: int
) -> Iterator[Loader]:
    """The shards' samples, ``width`` shards open at a time, each next sample from a random
    one of them (in order when ``width`` is 1)."""
    waiting = list(reversed(shards))
    reading: list[Iterator[Loader]] = []
    while waiting or reading:
        while waiting and len(reading) < width:
            reading.append(waiting.pop())
        index = int(rng.integers(len(reading))) if len(reading) > 1 else 0
        sample = next(reading[index], None)
        if sample is None:
            reading.pop(index)
        else:
            yield sample


def _exactly(stream: Iterator[Loader], count: int, again: Any) -> Iterator[Loader]:
    """``count`` samples: the stream cut short, or followed by ``again()`` (its shards read
    again) until there are enough."""
    given = 0
    while given < count:
        before = given
        for sample in stream:
            yield sample
            given += 1
            if given == count:
                return
        if given == before:  # no shards at all
            return
        stream = again()


def _shuffled(samples: Iterator[tuple], rng: np.random.Generator, size: int) -> Iterator[tuple]:
    """A bounded shuffle: each sample enters a buffer of ``size`` and a random one leaves."""
    buffer: list[tuple] = []
    for sample in samples:
        buffer.append(sample)
        if len(buffer) >= max(1, size):
            yield _take_random(buffer, rng)
    while buffer:
        yield _take_random(buffer, rng)


def _iterable_dataset_base() -> type:
    """torch's IterableDataset where torch is installed (a DataLoader's workers then take
    their share of samples through :func:`current_worker`); a plain object otherwise."""
    try:
        from torch.utils.data import IterableDataset
    except ImportError:
        return object
    return IterableDataset


class ShardDataset(_iterable_dataset_base()):  # type: ignore[misc]
    """:func:`iter_shards` as a dataset object: ``iter(ds)`` streams this rank's (and this
    DataLoader worker's) samples; :meth:`set_epoch` picks the next epoch's order, as
    DistributedSampler does. ``len(ds)``: the samples this rank yields per epoch."""

    def __init__(self, output_dir: str | Path, model: str, split: str, **options: Any) -> None:
        self.output_dir, self.model, self.split = output_dir, model, split
        self.options = {"epoch": 0, **options}
        # A wrong option fails here, not in a DataLoader worker at the first epoch.
        Restoring(options.get("as_float", False), options.get("normalize"),
                  options.get("channels_first", False))  # fmt: skip
        self._check_shards()

    def _check_shards(self) -> None:
        """Every shard of the split checked against its recorded size and checksum, once, in
        the process that makes the dataset: DataLoader workers, forked from it each epoch,
        inherit what was checked and read only their own samples' bytes."""
        model_dir = _model_dir(self.output_dir, self.model)
        augmented = self.options.get("augmented", False)
        for entry in _split_entries(self.output_dir, self.model, self.split, augmented):
            if "shard_path" in entry:  # other formats: iter_shards says what to use instead
                verify_files([_shard_file(entry, model_dir)], entry)

    def set_epoch(self, epoch: int) -> None:
        self.options["epoch"] = epoch

    def __iter__(self) -> Iterator[tuple]:
        return iter_shards(self.output_dir, self.model, self.split, **self.options)

    def __len__(self) -> int:
        entries = _split_entries(
            self.output_dir, self.model, self.split, self.options.get("augmented", False)
        )
        counts = [entry["num_samples"] for entry in entries]
        world_size, rank = self.options.get("world_size", 1), self.options.get("rank", 0)
        if not self.options.get("exactly_once", False):
            return sum(counts) // world_size
        order = list(range(len(entries)))
        if self.options.get("shuffle", True):
            order = shard_order(entries, self.options.get("seed", 0), self.options["epoch"])
        return sum(counts[i] for i in rank_shards(order, rank, world_size))
