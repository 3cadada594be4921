"""Every reader takes the same options (as_float, normalize, channels_first, with_info) and
gives the same arrays for them: load, iter_batches, iter_shuffled, BatchDataset, and for
shards iter_shards and ShardDataset. And fraudprep.loader after a plain `import fraudprep`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_steps

import fraudprep
from fraudprep.inputs.datasets import DatasetConfig

MODEL = "resnet_low_memory"  # 128 x 128 x 3 images: channels and bands to normalise over
OPTIONS = [
    {},
    {"channels_first": True},
    {"normalize": "channel"},
    {"normalize": "band", "channels_first": True},
    {"as_float": True, "normalize": "channel", "channels_first": True},
]


@pytest.fixture(scope="module", params=[("pickle", None), ("npy", "uint8"), ("shards", None)])
def outputs(request, tmp_path_factory) -> tuple[Path, str]:
    """One small run per storage format; uint8 images are stored with one channel, so the
    loader's one-channel path is among them."""
    from helpers import build_tree

    storage, dtype = request.param
    base = tmp_path_factory.mktemp(f"loader-{storage}")
    tree = build_tree(base / "for")
    overrides = {"dtype": dtype} if dtype else None
    run_steps(base / "out", MODEL, DatasetConfig(input_dir=str(tree)), storage=storage,
              profile_overrides=overrides)  # fmt: skip
    return base / "out", storage


def by_path(samples) -> dict[str, np.ndarray]:
    return {info["path"]: x for x, _, info in samples}


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_every_reader_gives_load_s_arrays_for_the_same_options(outputs, options):
    out, storage = outputs
    data, labels, info = fraudprep.load(out, MODEL, "training", with_info=True, **options)
    assert len(data) == len(labels) == len(info["path"]) == 6
    expected = dict(zip(info["path"], data, strict=True))

    batches = list(fraudprep.iter_batches(out, MODEL, "training", with_info=True, **options))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), data)

    dataset = fraudprep.BatchDataset(out, MODEL, "training", with_info=True, **options)
    assert by_path(dataset).keys() == expected.keys()
    for path, x in by_path(dataset).items():
        np.testing.assert_array_equal(x, expected[path])

    shuffled = fraudprep.iter_shuffled(out, MODEL, "training", seed=1, with_info=True, **options)
    got = by_path(shuffled)
    assert got.keys() == expected.keys()
    for path, x in got.items():
        np.testing.assert_array_equal(x, expected[path])

    if storage == "shards":
        streamed = by_path(
            fraudprep.iter_shards(out, MODEL, "training", exactly_once=True, with_info=True,
                                  **options)
        )  # fmt: skip
        shard_dataset = fraudprep.ShardDataset(out, MODEL, "training", exactly_once=True,
                                               **options)  # fmt: skip
        plain = sorted(x.tobytes() for x, _ in shard_dataset)
        assert plain == sorted(x.tobytes() for x in expected.values())
        assert streamed.keys() == expected.keys()
        for path, x in streamed.items():
            np.testing.assert_array_equal(x, expected[path])


def test_the_options_do_what_they_say(outputs):
    """Not only equal across readers: channels first is the transpose, normalised training
    data has zero mean and unit spread per channel."""
    out, _ = outputs
    plain, _ = fraudprep.load(out, MODEL, "training")
    assert plain.shape == (6, 128, 128, 3) and plain.dtype == np.float32
    first, _ = fraudprep.load(out, MODEL, "training", channels_first=True)
    np.testing.assert_array_equal(first, plain.transpose(0, 3, 1, 2))
    x, _ = fraudprep.BatchDataset(out, MODEL, "training", normalize="channel")[0]
    assert x.shape == (128, 128, 3)
    standard = np.stack([x for x, _ in fraudprep.iter_shuffled(out, MODEL, "training",
                                                                normalize="channel")])  # fmt: skip
    np.testing.assert_allclose(standard.mean(axis=(0, 1, 2)), 0, atol=1e-3)
    np.testing.assert_allclose(standard.std(axis=(0, 1, 2)), 1, atol=1e-2)


def test_a_wrong_option_is_refused_by_every_reader(outputs):
    out, storage = outputs
    readers = [
        lambda: fraudprep.load(out, MODEL, "training", normalize="global"),
        lambda: next(fraudprep.iter_batches(out, MODEL, "training", normalize="global")),
        lambda: next(fraudprep.iter_shuffled(out, MODEL, "training", normalize="global")),
        lambda: fraudprep.BatchDataset(out, MODEL, "training", normalize="global"),
    ]
    if storage == "shards":
        readers += [
            lambda: next(fraudprep.iter_shards(out, MODEL, "training", normalize="global")),
            lambda: fraudprep.ShardDataset(out, MODEL, "training", normalize="global"),
        ]
    for reader in readers:
        with pytest.raises(ValueError, match="normalize must be one of"):
            reader()


def test_fraudprep_loader_is_an_attribute_of_a_fresh_import():
    code = (
        "import sys, fraudprep\n"
        "assert 'numpy' not in sys.modules  # still lazy\n"
        "assert fraudprep.loader.iter_shuffled is fraudprep.iter_shuffled\n"
        "assert fraudprep.streaming.iter_shards is fraudprep.iter_shards\n"
        "print(fraudprep.loader.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fraudprep.outputs.loader"
    with pytest.raises(AttributeError):
        fraudprep.nonexistent  # noqa: B018


def test_normalizing_without_training_samples_says_so():
    """No training sample, no moments: numpy's "operands could not be broadcast" said nothing
    of that."""
    from fraudprep.outputs.restoring import normalized

    moments = ("band_mean", "band_std", "channel_mean", "channel_std")
    empty = {"normalization": {key: np.zeros(0, np.float32) for key in moments}}
    with pytest.raises(ValueError, match="training split has no samples"):
        normalized(np.zeros((2, 4, 5), np.float32), empty, "channel")
