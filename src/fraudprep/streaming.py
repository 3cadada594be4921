"""Streaming a split's tar shards (``format: shards``) into training, sample by sample.

    for x, y in fraudprep.iter_shards("data/preprocessed", "resnet", "training", epoch=3):
        ...
    dataset = fraudprep.ShardDataset("data/preprocessed", "resnet", "training")
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, num_workers=2)

Shards are dealt to ranks (rank ``r`` of ``world_size`` takes every ``world_size``-th shard
from the ``r``-th), then a rank's to its DataLoader workers the same way, in an order shuffled
by ``seed`` and ``epoch`` alone. Within a consumer, samples pass through a bounded shuffle
buffer, so classes mix while memory stays ``buffer_size`` samples.

- ``exactly_once=True`` (evaluation): every sample exactly once over all consumers; ranks may
  get different counts.
- ``exactly_once=False`` (training, the default): every rank yields the same number of
  samples, ``total // world_size``, as DistributedDataParallel needs (a rank with fewer
  samples on its shards repeats some of them; one with more stops early), so no rank waits
  for another at the end of an epoch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.formats import decode_sample, iter_shard_samples
from fraudprep.loader import _model_dir, _split_entries, read_dataset_stats, restored
from fraudprep.verify import verify_files


@dataclass(frozen=True)
class Consumer:
    """Who reads: one DataLoader worker of one rank."""

    rank: int = 0
    world_size: int = 1
    worker: int = 0
    num_workers: int = 1

    @property
    def index(self) -> int:
        return self.rank * self.num_workers + self.worker

    @property
    def count(self) -> int:
        return self.world_size * self.num_workers


def current_worker() -> tuple[int, int]:
    """(worker id, number of workers) of the torch DataLoader worker this runs in, or
    (0, 1). torch is asked only when the caller has imported it."""
    torch = sys.modules.get("torch")
    info = torch.utils.data.get_worker_info() if torch is not None else None
    return (info.id, info.num_workers) if info is not None else (0, 1)


def shard_order(entries: Sequence[Mapping[str, Any]], seed: int, epoch: int) -> list[int]:
    """The split's shards in this epoch's order: the same on every rank and worker."""
    return np.random.default_rng([seed, epoch]).permutation(len(entries)).tolist()


def dealt_shards(order: Sequence[int], consumer: Consumer) -> list[int]:
    """Shards to ranks first, then a rank's to its workers: what a rank reads does not
    depend on how many workers it has."""
    ranks = order[consumer.rank :: consumer.world_size]
    return list(ranks[consumer.worker :: consumer.num_workers])


def quota(counts: Sequence[int], order: Sequence[int], consumer: Consumer) -> int:
    """Samples a consumer yields in training mode: each rank ``total // world_size``, shared
    among its workers by their dealt samples (so a worker with no shards yields none)."""
    per_rank = sum(counts) // consumer.world_size
    workers = [
        Consumer(consumer.rank, consumer.world_size, w, consumer.num_workers)
        for w in range(consumer.num_workers)
    ]
    dealt = [sum(counts[i] for i in dealt_shards(order, w)) for w in workers]
    if not sum(dealt):
        return 0
    # Largest remainders: the workers' quotas add up to the rank's exactly.
    shares = [per_rank * d / sum(dealt) for d in dealt]
    floors = [int(share) for share in shares]
    extra = per_rank - sum(floors)
    ranked = sorted(range(len(shares)), key=lambda w: (floors[w] - shares[w], w))
    for w in ranked[:extra]:
        floors[w] += 1
    return floors[consumer.worker]


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
    augmented: bool | str = False,
    worker: tuple[int, int] | None = None,
) -> Iterator[tuple]:
    """Yield ``(x, y)`` (or ``(x, y, info)``) of the shards dealt to this rank and worker;
    ``x`` float32 in the profile's shape, as :func:`fraudprep.iter_batches` gives it.

    ``worker``: (id, count) of the DataLoader worker; found from torch when not given.
    ``shuffle=False`` keeps the shard list's order and no buffer (for comparisons).
    ``interleave``: shards read at once, each next sample from a random one of them: shards
    hold one class each where the corpus is laid out by class, and a buffer alone would mix
    only within one. ``as_stored``: samples as on disk (e.g. uint8, one channel), a quarter
    to a twelfth of the bytes a DataLoader worker sends; restore the batches in the training
    process with :func:`fraudprep.restored` and the dataset's statistics."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1} (world_size {world_size})")
    worker_id, num_workers = worker if worker is not None else current_worker()
    consumer = Consumer(rank, world_size, worker_id, num_workers)
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
    mine = [entries[i] for i in dealt_shards(order, consumer)]
    rng = np.random.default_rng([seed, epoch, consumer.index])
    width = max(1, interleave) if shuffle else 1

    def read() -> Iterator[tuple]:
        return _interleaved([_samples(entry, model_dir) for entry in mine], rng, width)

    samples = read()
    if not exactly_once:
        counts = [entry["num_samples"] for entry in entries]
        samples = _exactly(samples, quota(counts, order, consumer), read)
    if shuffle:
        samples = _shuffled(samples, rng, buffer_size)
    for features, record in samples:
        x = features if as_stored else restored(features[None], stats, False, normalize,
                                                  channels_first)[0]  # fmt: skip
        yield (x, record["label"], record) if with_info else (x, record["label"])


def _samples(entry: Mapping[str, Any], model_dir: Path) -> Iterator[tuple]:
    """One shard's (features, record) pairs, read lazily: opened when first asked for."""
    path = model_dir / Path(entry["shard_path"]).name
    verify_files([path], entry)
    for _, members in iter_shard_samples(path):
        yield decode_sample(members)


def _interleaved(
    shards: Sequence[Iterator[tuple]], rng: np.random.Generator, width: int
) -> Iterator[tuple]:
    """The shards' samples, ``width`` shards open at a time, each next sample from a random
    one of them (in order when ``width`` is 1)."""
    waiting = list(reversed(shards))
    reading: list[Iterator[tuple]] = []
    while waiting or reading:
        while waiting and len(reading) < width:
            reading.append(waiting.pop())
        index = int(rng.integers(len(reading))) if len(reading) > 1 else 0
        sample = next(reading[index], None)
        if sample is None:
            reading.pop(index)
        else:
            yield sample


def _exactly(samples: Iterator[tuple], count: int, again: Any) -> Iterator[tuple]:
    """``count`` samples: the stream cut short, or followed by ``again()`` (its shards read
    again) until there are enough."""
    given = 0
    while given < count:
        before = given
        for sample in samples:
            yield sample
            given += 1
            if given == count:
                return
        if given == before:  # no shards at all
            return
        samples = again()


def _shuffled(samples: Iterator[tuple], rng: np.random.Generator, size: int) -> Iterator[tuple]:
    """A bounded shuffle: each sample enters a buffer of ``size`` and a random one leaves."""
    buffer: list[tuple] = []
    for sample in samples:
        buffer.append(sample)
        if len(buffer) >= max(1, size):
            yield _take_random(buffer, rng)
    while buffer:
        yield _take_random(buffer, rng)


def _take_random(buffer: list, rng: np.random.Generator) -> Any:
    index = int(rng.integers(len(buffer)))
    buffer[index], buffer[-1] = buffer[-1], buffer[index]
    return buffer.pop()


def _iterable_dataset_base() -> type:
    """torch's IterableDataset where torch is installed (a DataLoader then deals shards to
    its workers through :func:`current_worker`); a plain object otherwise."""
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
        order = shard_order(entries, self.options.get("seed", 0), self.options["epoch"])
        if not self.options.get("shuffle", True):
            order = list(range(len(entries)))
        return sum(counts[i] for i in order[rank::world_size])
