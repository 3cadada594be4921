from __future__ import annotations

import numpy as np

from fraudprep.extraction.stats import ChunkStats, Moments, sample_moments


def test_chan_merge_equals_one_pass():
    rng = np.random.default_rng(3)
    values = rng.normal(5, 2, size=(1000, 7))
    merged = Moments()
    for piece in np.array_split(values, [3, 10, 400, 401, 999]):
        merged = merged.merge(Moments().add_observations(piece))
    assert merged.count == 1000
    np.testing.assert_allclose(merged.mean, values.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.std, values.std(axis=0), rtol=1e-10)


def test_chunk_stats_merge_and_json_roundtrip():
    rng = np.random.default_rng(4)
    gray = rng.random((6, 4, 5, 1)).astype(np.float32)
    features = np.repeat(gray, 3, axis=3)  # R = G = B, as the extractors write them
    one_pass, parts = ChunkStats(), [ChunkStats(), ChunkStats()]
    for i, sample in enumerate(features):
        for stats in (one_pass, parts[i % 2]):
            stats.add_sample("training", i % 2, 16000 if i else 44100, 1, 1.0 + i, sample)
    parts[1].add_failure("testing", 1)
    merged = ChunkStats.from_json(parts[0].to_json()).merge(
        ChunkStats.from_json(parts[1].to_json())
    )
    assert merged.samples == {"training/0": 3, "training/1": 3}
    assert merged.failures == {"testing/1": 1}
    assert merged.sample_rates == {"16000": 5, "44100": 1}
    assert (merged.duration_min, merged.duration_max) == (1.0, 6.0)
    np.testing.assert_allclose(merged.duration.mean, [3.5])
    # Per band (image row) over all training samples and columns.
    band_values = features[..., 0].transpose(0, 2, 1).reshape(-1, 4)
    np.testing.assert_allclose(merged.band_moments.mean, band_values.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(merged.band_moments.std, band_values.std(axis=0), rtol=1e-6)
    np.testing.assert_allclose(
        merged.channel_moments.mean, features.reshape(-1, 3).mean(axis=0), rtol=1e-6
    )
    np.testing.assert_allclose(merged.band_moments.mean, one_pass.band_moments.mean, rtol=1e-12)


def test_validation_and_testing_do_not_feed_normalisation():
    stats = ChunkStats()
    stats.add_sample("testing", 0, 16000, 1, 1.0, np.ones((4, 5), np.float32))
    assert stats.band_moments.count == 0


def test_sample_moments_match_numpy_for_every_kind_of_feature():
    rng = np.random.default_rng(5)
    for features in (
        rng.random((7, 11), dtype=np.float32),
        rng.standard_normal(300).astype(np.float32),
        np.repeat(rng.random((6, 9, 1), dtype=np.float32), 3, axis=2),
    ):
        bands, channels = sample_moments(features)
        plane = (
            features[..., 0]
            if features.ndim == 3
            else features.reshape(1, -1)
            if (features.ndim == 1)
            else features
        )
        np.testing.assert_allclose(bands.mean, plane.mean(axis=1), rtol=1e-6)
        np.testing.assert_allclose(bands.std, plane.std(axis=1), rtol=1e-5)
        np.testing.assert_allclose(channels.mean, plane.mean(), rtol=1e-6)
        np.testing.assert_allclose(channels.std, plane.std(), rtol=1e-5)
        assert channels.count == plane.size
