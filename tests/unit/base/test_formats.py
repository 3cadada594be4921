"""Storage formats: every format writes and reads batches and documents through one interface."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO

from fraudprep.base.formats import (
    FORMATS,
    PickleListsWriter,
    file_digest,
    format_of_document,
    format_of_entry,
    iter_shard_samples,
    storage_format,
)

ALL_FORMATS = sorted(FORMATS)


def test_the_schema_offers_exactly_the_formats_there_are():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    assert sorted(schema["properties"]["format"]["enum"]) == ALL_FORMATS


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_a_batch_comes_back_from_its_metadata_entry_alone(tmp_path, fmt: str):
    storage = storage_format(fmt)
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    labels = np.array([0, 1], dtype=np.int64)
    digests = storage.write_batch(tmp_path, "training_batch_0", data, labels, ["a.wav", "b.wav"])
    written = sorted(tmp_path.iterdir(), key=lambda p: storage.batch_suffixes.index(p.name[16:]))
    assert digests == [file_digest(path) for path in written]  # (bytes, checksum) per file
    entry = storage.batch_paths(tmp_path / "elsewhere", "training_batch_0")
    # The entry names files where the outputs were written; read where they are now.
    assert format_of_entry(entry) is storage
    read_data, read_labels = storage.read_batch(storage.entry_files(entry, tmp_path), mmap=True)
    np.testing.assert_array_equal(read_data, data)
    np.testing.assert_array_equal(read_labels, labels)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_documents_round_trip_and_are_recognised_by_name(tmp_path, fmt: str):
    storage = storage_format(fmt)
    stats = {"num_samples": np.int64(3), "per_split": {"training": [1, 2]}}
    for name in (storage.metadata_name, storage.stats_name):
        storage.write_document(tmp_path / name, stats)
        # npy and shards share dataset_stats.json: whichever is found reads it alike.
        found = format_of_document(tmp_path / name)
        assert found is storage or found.stats_name == storage.stats_name == name
        for reader in (storage, found):
            assert reader.read_document(tmp_path / name) == {
                "num_samples": 3,
                "per_split": {"training": [1, 2]},
            }


def test_the_safe_format_is_plain_json_and_npy():
    storage = storage_format("npy")
    assert storage.metadata_name.endswith(".json") and all(
        suffix.endswith(".npy") for suffix in storage.batch_suffixes
    )


def test_the_seed_snippet_reads_pickle_batches(tmp_path):
    storage = storage_format("pickle")
    storage.write_batch(tmp_path, "b", np.zeros((1, 2), np.float32), np.ones(1, np.int64), ["x"])
    with open(tmp_path / "b.pkl", "rb") as handle:
        batch = pickle.load(handle)
    assert sorted(batch) == ["data", "labels", "source_files"] and batch["source_files"] == ["x"]


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="not one of"):
        storage_format("parquet")
    with pytest.raises(ValueError, match="without file keys"):
        format_of_entry({"batch_index": 0})
    with pytest.raises(ValueError, match="neither"):
        format_of_document("notes.json")


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_streamed_metadata_loads_as_the_whole_dictionary_would(tmp_path, fmt: str):
    document = {
        "training": [
            {"file_path": f"training_batch_{i}.pkl", "labels": [0, 1], "source_files": ["a", "a"]}
            for i in range(2 * PickleListsWriter.BLOCK + 7)  # several APPENDS blocks
        ],
        "validation": [],
        "testing": [{"batch_index": 0, "num_samples": 3}],
    }
    storage = storage_format(fmt)
    path = tmp_path / storage.metadata_name
    with storage.lists_document(path) as writer:
        for key, items in document.items():
            writer.start(key)
            for item in items:
                writer.add(item)
    loaded = storage.read_document(path)
    assert loaded == document and list(loaded) == list(document)


def test_a_failed_streamed_document_leaves_nothing(tmp_path):
    path = tmp_path / "batch_metadata.pkl"
    with pytest.raises(RuntimeError), storage_format("pickle").lists_document(path) as writer:
        writer.start("training")
        writer.add({"batch_index": 0})
        raise RuntimeError("aggregation failed half way")
    assert list(tmp_path.iterdir()) == []


def test_a_tar_of_other_member_types_reads_alike_through_tarfile(tmp_path: Path):
    """Our reader parses our own ustar shards directly; a WebDataset tar written by another
    tool (pax headers, long names) is read through tarfile, grouped by key the same way."""
    import tarfile

    from fraudprep.base.formats import decode_sample, npy_bytes

    path = tmp_path / "other.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for index in range(3):
            key = f"{'long-key-' * 14}{index}"  # over ustar's 100 characters
            members = {
                "npy": npy_bytes(np.full(4, index, np.float32)),
                "json": json.dumps({"label": index % 2}).encode(),
            }
            for extension, data in members.items():
                member = tarfile.TarInfo(f"{key}.{extension}")
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
    samples = [decode_sample(members) for _, members in iter_shard_samples(path)]
    assert [(float(x[0]), record["label"]) for x, record in samples] == [(0, 0), (1, 1), (2, 0)]
