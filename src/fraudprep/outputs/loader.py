"""Reading the outputs back: whole splits as arrays, batch by batch, or sample by sample.

Works for both storage formats; with ``npy`` batches are memory-mapped, so iterating a split
reads only what is touched and loading runs no code from the files. Paths are found from the
model directory, so outputs can be moved or read from any working directory.

    import fraudprep
    x, y = fraudprep.load("data/preprocessed", "resnet", "training")
    for x, y in fraudprep.iter_batches("data/preprocessed", "resnet", "validation"):
        ...
    dataset = fraudprep.BatchDataset("data/preprocessed", "resnet", "training")
    x0, y0 = dataset[0]  # also a torch Dataset when torch is installed (duck-typed)

Every reader (``load``, ``iter_batches``, ``iter_shuffled``, ``BatchDataset`` and the shard
streams of :mod:`fraudprep.outputs.streaming`) takes the same options for what it gives:
``as_float``, ``normalize``, ``channels_first`` (one :class:`Restoring` applies them, so the
same sample comes out equal from each: see :mod:`fraudprep.outputs.restoring`), ``with_info``
and ``augmented``.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.formats import StorageFormat, format_of_entry, storage_format
from fraudprep.base.layout import MANIFEST
from fraudprep.inputs.integrity import content_hash
from fraudprep.inputs.manifest import SPLITS, augmented_split, parse_split

# normalized and restored: what the readers' options do, importable with the readers.
from fraudprep.outputs.restoring import Restoring

# DamagedOutputError: what the readers below raise, importable with them (fraudprep.<name>).
from fraudprep.outputs.verify import DamagedOutputError, verify_files  # noqa: F401
from fraudprep.run.settings import SETTINGS_FILE, read_settings_dict

MANIFEST_FILE = MANIFEST  # fraudprep.base.layout owns the name


class StaleOutputsError(RuntimeError):
    """A model's batches do not belong to the manifest or settings beside them."""


def _model_dir(output_dir: str | Path, model: str) -> Path:
    model_dir = Path(output_dir) / model
    if not (model_dir / SETTINGS_FILE).exists():
        found = sorted(p.parent.name for p in Path(output_dir).glob(f"*/{SETTINGS_FILE}"))
        raise FileNotFoundError(
            f"no outputs for model {model!r} in {output_dir} (models there: {found}); "
            "run the workflow first"
        )
    return model_dir


def _storage(model_dir: Path) -> StorageFormat:
    settings = read_settings_dict(model_dir / SETTINGS_FILE)
    return storage_format(settings.get("storage_format", "pickle"))


def read_metadata(output_dir: str | Path, model: str) -> dict[str, list[dict[str, Any]]]:
    """``metadata[split]`` = list of batch entries (paths, num_samples, labels, sources).

    Raises :class:`StaleOutputsError` when the batches were made from another manifest or
    other settings than the ones beside them (an earlier run's leftovers).
    """
    model_dir = _model_dir(output_dir, model)
    check_current(output_dir, model)
    storage = _storage(model_dir)
    return storage.read_document(model_dir / storage.metadata_name)


def check_current(output_dir: str | Path, model: str) -> None:
    """Refuse a model's outputs whose recorded manifest and settings are not the current ones.

    Outputs moved away from their manifest cannot be checked against it, and are trusted.
    """
    stats = read_dataset_stats(output_dir, model)
    redo = (
        f"rerun the workflow with {model} in models (or delete {Path(output_dir) / model}) "
        "before loading it"
    )
    settings = read_settings_dict(Path(output_dir) / model / SETTINGS_FILE)
    if "settings" in stats and stats["settings"] != settings:
        raise StaleOutputsError(
            f"{model}'s batches in {output_dir} were made with other settings than its "
            f"{SETTINGS_FILE} (a run changed them and did not finish); {redo}"
        )
    recorded = (stats.get("provenance") or {}).get("manifest_sha256")
    manifest = Path(output_dir) / MANIFEST_FILE
    if recorded and manifest.is_file() and _digest(manifest) != recorded:
        raise StaleOutputsError(
            f"{model}'s batches in {output_dir} were made from an earlier manifest than "
            f"{manifest} (the input changed since, and the last run did not include {model}); "
            f"{redo}"
        )


def _digest(path: Path) -> str:
    info = path.stat()
    return _cached_digest(str(path.resolve()), info.st_size, info.st_mtime_ns)


@functools.cache
def _cached_digest(path: str, size: int, mtime_ns: int) -> str:
    """Hashed once per version of the file: a training loop opens the outputs many times."""
    return content_hash(path)


def read_dataset_stats(output_dir: str | Path, model: str) -> dict[str, Any]:
    model_dir = _model_dir(output_dir, model)
    storage = _storage(model_dir)
    return storage.read_document(model_dir / storage.stats_name)


def read_batch(
    entry: Mapping[str, Any], model_dir: str | Path, mmap: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(data, labels) of one ``batch_metadata`` entry whose files are in ``model_dir``; the
    entry's keys tell the format (``file_path``: pickle, ``data_path``: npy, memory-mapped)."""
    storage = format_of_entry(entry)
    paths = storage.entry_files(entry, Path(model_dir))
    verify_files(paths, entry)  # a damaged file is named, never read as if it were whole
    return storage.read_batch(paths, mmap)


def iter_batches(
    output_dir: str | Path,
    model: str,
    split: str,
    mmap: bool = True,
    as_float: bool = False,
    with_info: bool = False,
    normalize: str | None = None,
    channels_first: bool = False,
    augmented: bool | str = False,
) -> Iterator[tuple]:
    """Yield (data, labels) per batch, in order; only one batch is held at a time.

    ``augmented``: False (the default) gives the clean samples only, True the clean ones and
    then the split's augmented copies (config ``augmentation``), "only" the copies alone.
    ``as_float`` gives int16 waveforms (``dtype: int16`` profiles) as float32 in [-1, 1].
    ``with_info`` adds a third item, the samples' ``batch_info`` (paths, speakers, attacks,
    corpora, split), for score files and per-attack results. ``normalize`` ("channel" or "band")
    standardises with the training split's statistics (see :func:`normalized`);
    ``channels_first`` turns (n, H, W, C) images into (n, C, H, W), as torchvision expects.
    """
    restore = Restoring(as_float, normalize, channels_first)
    model_dir = _model_dir(output_dir, model)
    stats = read_dataset_stats(output_dir, model)
    for entry in _split_entries(output_dir, model, split, augmented):
        data, labels = read_batch(entry, model_dir, mmap)
        data = restore(data, stats)
        yield (data, labels, batch_info(entry)) if with_info else (data, labels)


def sample_info(info: Mapping[str, Any], offset: int) -> dict[str, Any]:
    """One sample's item of a :func:`batch_info`: each list's element, the split as is."""
    return {key: v[offset] if isinstance(v, list) else v for key, v in info.items()}


def segment_array(labels: str | None) -> np.ndarray | None:
    """Stored segment labels (``"0011"``) as an int8 array (``[0, 0, 1, 1]``: 0 real, 1 fake,
    one per ``segment_resolution`` seconds from the file's start); None stays None."""
    if labels is None:
        return None
    return (np.frombuffer(labels.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)


def batch_info(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the manifest says of each sample of a batch: ``path``, ``speaker``, ``attack`` and
    ``corpus`` (lists, "" where unknown; the corpus is known in runs of several corpora,
    config ``corpora``), the batch's ``split``, and per sample its augmentation, and its
    ``segment_labels`` (:func:`segment_array`) and ``segment_resolution`` (seconds per
    segment), None where it has none (only PartialSpoof's files have segment labels).

    The segment labels describe the file as it is on disk, from its first sample: the
    features were made after trimming silence and at most ``max_input_seconds`` of it."""
    count = entry["num_samples"]
    segments = entry.get("segment_labels") or [None] * count
    return {
        "path": list(entry["source_files"]),
        "speaker": list(entry.get("speakers") or [""] * count),
        "attack": list(entry.get("attacks") or [""] * count),
        "corpus": list(entry.get("corpora") or [""] * count),
        "split": entry.get("split", ""),
        # Augmented copies: the copy index and the parameters drawn, per sample; None if clean.
        "augmentation": list(entry.get("augmentations") or [None] * count),
        "segment_labels": [segment_array(labels) for labels in segments],
        "segment_resolution": list(entry.get("segment_resolution") or [None] * count),
    }


def iter_shuffled(
    output_dir: str | Path,
    model: str,
    split: str,
    seed: int = 0,
    epoch: int = 0,
    buffer_batches: int = 16,
    as_float: bool = False,
    augmented: bool | str = False,
    normalize: str | None = None,
    channels_first: bool = False,
    with_info: bool = False,
) -> Iterator[tuple]:
    """Yield (features, label), or (features, label, info) with ``with_info``, sample by
    sample in a shuffled order, in bounded memory. The other options are
    :func:`iter_batches`'s; info is the sample's ``path``, ``speaker``, ``attack``, ``split``
    and ``augmentation``, as :class:`BatchDataset` gives it.

    Batch files hold one class each, in path order, as the seed wrote them. Here the batch
    files are read in a random order and their samples pass through a buffer of
    ``buffer_batches`` batches, from which a random one leaves each time: classes mix, each
    batch file is read once per epoch, and memory is the buffer. The order depends only on
    ``seed`` and ``epoch`` (pass the epoch number to get a new order each epoch).
    """
    restore = Restoring(as_float, normalize, channels_first)
    rng = np.random.default_rng([seed, epoch])
    model_dir = _model_dir(output_dir, model)
    stats = read_dataset_stats(output_dir, model)
    entries = _split_entries(output_dir, model, split, augmented)
    buffer: list[tuple] = []
    capacity = max(1, buffer_batches) * max((e["num_samples"] for e in entries), default=1)
    for index in rng.permutation(len(entries)):
        data, labels = read_batch(entries[index], model_dir, mmap=False)
        data = restore(data, stats)
        if with_info:
            info = batch_info(entries[index])
            buffer.extend(
                (data[i], int(labels[i]), sample_info(info, i)) for i in range(len(labels))
            )
        else:
            buffer.extend((data[i], int(labels[i])) for i in range(len(labels)))
        while len(buffer) > capacity:
            yield _take_random(buffer, rng)
    while buffer:
        yield _take_random(buffer, rng)


def _take_random(buffer: list, rng: np.random.Generator):
    """Remove and return a random element in O(1): swap it with the last one first."""
    index = int(rng.integers(len(buffer)))
    buffer[index], buffer[-1] = buffer[-1], buffer[index]
    return buffer.pop()


def _split_entries(
    output_dir: str | Path, model: str, split: str, augmented: bool | str = False
) -> list[dict[str, Any]]:
    """A split's batch entries, clean, clean then augmented (True) or augmented ("only");
    "train", "dev", "test" and the other names a manifest accepts mean the same splits."""
    if augmented not in (False, True, "only"):
        raise ValueError(f"augmented must be False, True or 'only', not {augmented!r}")
    canonical = parse_split(str(split))
    if canonical is None:
        raise KeyError(f"unknown split {split!r}: use one of {list(SPLITS)}")
    metadata = read_metadata(output_dir, model)
    copies = metadata.get(augmented_split(canonical), [])
    if augmented == "only" and not copies:
        # An empty array would look like a split of no samples: say why there are none.
        raise ValueError(
            f"{model} has no augmented copies of {canonical} in {output_dir}: the run that "
            "made it had no augmentation block for that split (config augmentation: copies, "
            "splits); use augmented=False for the clean samples"
        )
    if augmented == "only":
        return copies
    return metadata[canonical] + (copies if augmented else [])


def load(
    output_dir: str | Path,
    model: str,
    split: str,
    as_float: bool = False,
    normalize: str | None = None,
    channels_first: bool = False,
    augmented: bool | str = False,
    with_info: bool = False,
) -> tuple:
    """The whole split as two arrays, (data, labels), or (data, labels, info) with
    ``with_info`` (info: lists of each sample's ``path``, ``speaker``, ``attack``, ``corpus``,
    ``split``, ``augmentation``, ``segment_labels`` and ``segment_resolution``: see
    :func:`batch_info`). Needs memory for all of it. The options are
    :func:`iter_batches`'s."""
    batches = list(
        iter_batches(
            output_dir, model, split, mmap=False, as_float=as_float, normalize=normalize,
            channels_first=channels_first, augmented=augmented, with_info=with_info,
        )
    )  # fmt: skip
    if batches:
        data = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
    else:  # the empty split's shape, as a batch of it would have come out
        stats = read_dataset_stats(output_dir, model)
        empty = np.zeros((0, *stats["feature_shape"]), np.float32)
        data = Restoring(as_float, normalize, channels_first)(empty, stats)
        labels = np.zeros(0, np.int64)
    if not with_info:
        return data, labels
    info: dict[str, list] = {key: [] for key in INFO_KEYS}
    for _, batch_labels, batch in batches:
        for key in INFO_KEYS:
            value = batch[key]
            info[key].extend(value if isinstance(value, list) else [value] * len(batch_labels))
    return data, labels, info


# batch_info's keys
INFO_KEYS = (
    "path", "speaker", "attack", "corpus", "split", "augmentation", "segment_labels",
    "segment_resolution",
)  # fmt: skip


class BatchDataset:
    """Sample-level access to one split: ``len(ds)``, ``ds[i] -> (features, label)``, or
    ``(features, label, info)`` with ``with_info=True`` (info: the sample's ``path``,
    ``speaker``, ``attack``, ``corpus``, ``split``, ``augmentation``, ``segment_labels`` and
    ``segment_resolution``: see :func:`batch_info`).

    It has the shape of a map-style ``torch.utils.data.Dataset`` (``__len__`` and
    ``__getitem__``), so a torch ``DataLoader`` takes it when torch is installed; torch is
    not needed otherwise. The last batch read is cached, so sequential access reads each
    batch file once. ``as_float``, ``normalize`` and ``channels_first`` are
    :func:`iter_batches`'s, applied to each sample as it is taken.
    """

    def __init__(
        self,
        output_dir: str | Path,
        model: str,
        split: str,
        with_info: bool = False,
        augmented: bool | str = False,
        as_float: bool = False,
        normalize: str | None = None,
        channels_first: bool = False,
    ) -> None:
        self._with_info = with_info
        self._restore = Restoring(as_float, normalize, channels_first)
        self._model_dir = _model_dir(output_dir, model)
        self._stats = read_dataset_stats(output_dir, model)
        self._entries = _split_entries(output_dir, model, split, augmented)
        self._starts = np.cumsum([0] + [e["num_samples"] for e in self._entries]).tolist()
        self._cached: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None

    def __len__(self) -> int:
        return self._starts[-1]

    def _batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, read_batch(self._entries[index], self._model_dir))
        return self._cached[1]

    def __getitem__(self, index: int) -> tuple:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        batch_index = bisect.bisect_right(self._starts, index) - 1
        data, labels = self._batch(batch_index)
        offset = index - self._starts[batch_index]
        # Restored alone: a whole batch's would be done again for every random access.
        sample = self._restore.sample(data[offset], self._stats), int(labels[offset])
        if not self._with_info:
            return sample
        return (*sample, sample_info(batch_info(self._entries[batch_index]), offset))

    def __iter__(self) -> Iterator[tuple]:
        for index in range(len(self)):
            yield self[index]
