from __future__ import annotations

from pathlib import Path

import pytest

from fraudprep.chunks import plan_chunks, read_chunks, write_chunks
from fraudprep.manifest import ManifestRow, write_manifest


def manifest_with(tmp_path: Path, counts: dict[str, int]) -> Path:
    rows = [
        ManifestRow(f"{split}/{i}.wav", split, i % 2, 10)
        for split, n in counts.items()
        for i in range(n)
    ]
    path = tmp_path / "manifest.csv"
    write_manifest(rows, path)
    return path


def test_chunks_cover_every_row_once_and_never_straddle_splits(tmp_path: Path):
    manifest = manifest_with(tmp_path, {"training": 25, "validation": 7, "testing": 10})
    chunks = list(plan_chunks(manifest, 10))
    # 25 training rows need 3 chunks of at most 10: 9, 8, 8 rather than 10, 10, 5.
    assert [(c.chunk, c.start, c.stop) for c in chunks] == [
        ("training-00000", 0, 9),
        ("training-00001", 9, 17),
        ("training-00002", 17, 25),
        ("validation-00000", 25, 32),
        ("testing-00000", 32, 42),
    ]
    covered = [row for c in chunks for row in range(c.start, c.stop)]
    assert covered == list(range(42))


def test_chunk_table_roundtrips_and_is_deterministic(tmp_path: Path):
    manifest = manifest_with(tmp_path, {"training": 5, "testing": 3})
    first = write_chunks(manifest, 2, tmp_path / "a.csv")
    write_chunks(manifest, 2, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert read_chunks(tmp_path / "a.csv") == first
    assert [c.size for c in first] == [2, 2, 1, 2, 1]


@pytest.mark.parametrize("rows", [1, 9, 10, 11, 1000, 1001, 4097])
@pytest.mark.parametrize("chunk_size", [1, 7, 512])
def test_chunks_are_as_few_as_allowed_and_of_even_size(tmp_path, rows, chunk_size):
    manifest = manifest_with(tmp_path, {"training": rows})
    sizes = [c.size for c in plan_chunks(manifest, chunk_size)]
    assert sum(sizes) == rows
    assert max(sizes) <= chunk_size
    assert len(sizes) == -(-rows // chunk_size)
    assert max(sizes) - min(sizes) <= 1


def test_chunk_size_must_be_positive(tmp_path: Path):
    manifest = manifest_with(tmp_path, {"training": 1})
    with pytest.raises(ValueError, match="chunk_size"):
        list(plan_chunks(manifest, 0))
