"""The batch and shard writers of extraction/store.py: what a sample becomes in its batch file or
shard (storage dtypes, shard limits, values a dtype cannot hold)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

import fraudprep
from fraudprep.base.formats import iter_shard_samples, read_pickle
from fraudprep.extraction.store import (
    UINT8_SCALE,
    BatchAccumulator,
    ShardAccumulator,
    to_storage_dtype,
    to_stored,
)


def test_a_broadcast_sample_fills_its_batch_slot_like_a_copy(tmp_path):
    plane = np.random.default_rng(3).random((5, 6), dtype=np.float32)
    rgb = np.broadcast_to(plane[:, :, None], (5, 6, 3))
    batch = BatchAccumulator(tmp_path, batch_size=2, sample_shape=(5, 6, 3))
    batch.add(rgb, 1, "a.wav")
    batch.add(np.ascontiguousarray(rgb), 0, "b.wav")
    data = read_pickle(tmp_path / "batch_00000.pkl")["data"]
    np.testing.assert_array_equal(data[0], np.repeat(plane[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(data[0], data[1])


def test_int16_storage_scales_and_clips():
    stored = to_storage_dtype(np.array([0.0, 0.5, -1.0, 1.2], np.float32), np.dtype(np.int16))
    assert stored.tolist() == [0, 16384, -32767, 32767]


def test_a_shard_closes_at_its_sample_or_byte_limit_and_is_the_same_every_time(tmp_path):
    def write(directory: Path, max_samples: int, max_bytes: int) -> list:
        directory.mkdir()
        records = []
        shards = ShardAccumulator(
            directory, (4, 5), "uint8", max_samples, max_bytes,
            key_prefix="chunk-00000-shard", on_written=records.append,
        )  # fmt: skip
        shards.start_split("training")
        for i in range(5):
            shards.add(np.full((4, 5, 3), i / 10, np.float32), i % 2, f"f{i}.wav")
        shards.flush()
        return records

    by_count = write(tmp_path / "a", 2, 10**9)
    assert [r.num_samples for r in by_count] == [2, 2, 1]
    assert [r.num_samples for r in write(tmp_path / "b", 100, 1)] == [1] * 5
    write(tmp_path / "c", 2, 10**9)
    for name in ("shard_00000.tar", "shard_00002.tar"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()
    (key, members), *_ = iter_shard_samples(tmp_path / "a" / "shard_00001.tar")
    assert key == "chunk-00000-shard-000002"
    stored = np.load(io.BytesIO(members["npy"]))
    assert stored.shape == (4, 5) and stored.dtype == np.uint8 and stored[0, 0] == 51  # 0.2*255


def test_uint8_rounding_error_is_at_most_half_a_step():
    values = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    stored = to_stored(values, (64, 64), np.dtype(np.uint8))
    assert np.abs(stored / np.float32(UINT8_SCALE) - values).max() <= 0.5 / UINT8_SCALE + 1e-7


def test_features_beyond_float16_are_a_failure_not_an_infinite_sample(
    for_tree: Path, tmp_path: Path, monkeypatch
):
    """float16 tops out at 65504: a larger feature value would be stored as inf."""
    from helpers import run_steps

    from fraudprep.extraction.features import Extracted, LfccExtractor
    from fraudprep.inputs.datasets import DatasetConfig

    original = LfccExtractor.extract

    def loud(self, samples, with_spectrum=False):
        extracted = original(self, samples, with_spectrum)
        if len(samples) > 40000:  # the longer files only: the others stay samples
            return Extracted(extracted.features * 1e6, extracted.spectrum)
        return extracted

    monkeypatch.setattr(LfccExtractor, "extract", loud)
    out = tmp_path / "out"
    stats = run_steps(out, "lfcc", DatasetConfig(input_dir=str(for_tree)), storage="shards",
                      profile_overrides={"dtype": "float16"})  # fmt: skip
    reasons = stats["failure_reasons"]
    assert any("beyond float16's 65504" in reason for reason in reasons), reasons
    assert stats["total_samples"] + stats["total_failures"] == stats["total_files"]
    x, _ = fraudprep.load(out, "lfcc", "training")
    assert np.isfinite(x).all()
