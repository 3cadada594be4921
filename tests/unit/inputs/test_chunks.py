from __future__ import annotations

from pathlib import Path

import pytest

from fraudprep.inputs.chunks import chunk_count, plan_chunks, read_chunks, write_chunks
from fraudprep.inputs.manifest import ManifestRow, write_manifest


def manifest_with(tmp_path: Path, counts: dict[str, int]) -> Path:
    rows = [
        ManifestRow(f"{split}/{i}.wav", split, i % 2, 10)
        for split, n in counts.items()
        for i in range(n)
    ]
    path = tmp_path / "manifest.csv"
    write_manifest(rows, path)
    return path


def test_chunks_cover_every_row_once_in_equal_sizes_across_splits(tmp_path: Path):
    manifest = manifest_with(tmp_path, {"training": 25, "validation": 7, "testing": 10})
    chunks = plan_chunks(manifest, 10)
    # 42 rows at most 10 a chunk need 5 chunks; 8 (a multiple of 4) keep 2 or 4 cores busy to
    # the end, and 6 + 5 + ... rather than 10 + 10 + 5 within the 25 training rows alone.
    assert [(c.id, c.start, c.stop) for c in chunks] == [
        ("chunk-00000", 0, 6), ("chunk-00001", 6, 12), ("chunk-00002", 12, 17),
        ("chunk-00003", 17, 22), ("chunk-00004", 22, 27), ("chunk-00005", 27, 32),
        ("chunk-00006", 32, 37), ("chunk-00007", 37, 42),
    ]  # fmt: skip
    covered = [row for c in chunks for row in range(c.start, c.stop)]
    assert covered == list(range(42))


def test_chunk_table_roundtrips_and_is_deterministic(tmp_path: Path):
    manifest = manifest_with(tmp_path, {"training": 5, "testing": 3})
    first = write_chunks(manifest, 2, tmp_path / "a.csv")
    write_chunks(manifest, 2, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert read_chunks(tmp_path / "a.csv") == first
    assert [c.size for c in first] == [2, 2, 2, 2]


@pytest.mark.parametrize("rows", [1, 9, 10, 11, 99, 250, 1000, 1001, 4097])
@pytest.mark.parametrize("chunk_size", [1, 7, 512, 2000])
def test_chunks_are_even_no_larger_than_allowed_and_balanced(tmp_path, rows, chunk_size):
    manifest = manifest_with(tmp_path, {"training": rows})
    sizes = [c.size for c in plan_chunks(manifest, chunk_size)]
    assert sum(sizes) == rows
    assert max(sizes) <= chunk_size
    assert max(sizes) - min(sizes) <= 1
    needed = -(-rows // chunk_size)
    assert len(sizes) == chunk_count(rows, chunk_size) >= needed
    assert len(sizes) in (1, 2) or len(sizes) % 4 == 0 or len(sizes) == needed


@pytest.mark.parametrize(
    ("rows", "count"),
    [(48, 1), (199, 1), (300, 2), (399, 2), (400, 4), (2000, 4), (10000, 8), (20001, 12)],
)
def test_small_datasets_get_few_chunks_and_large_ones_a_multiple_of_four(rows, count):
    """Each chunk of a small dataset must pay for its job's start-up (100 files or more)."""
    assert chunk_count(rows, 2000) == count


def test_chunk_size_must_be_positive(tmp_path: Path):
    manifest = manifest_with(tmp_path, {"training": 1})
    with pytest.raises(ValueError, match="chunk_size"):
        plan_chunks(manifest, 0)
