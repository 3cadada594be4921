"""extraction/extract.py as a library call, without Snakemake: every file a sample or a
failure, a chunk's output published whole, batches that keep to one split."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml
from helpers import REPO
from helpers import run_tree_steps as run_pipeline

from fraudprep.base.atomic import partial_dir_for
from fraudprep.base.layout import read_chunk_metadata
from fraudprep.extraction.extract import ReadLimits, extract_chunk, extract_chunk_models
from fraudprep.inputs.chunks import write_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest
from fraudprep.run.settings import resolve_model_settings

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def test_every_file_is_a_sample_or_a_failure(tree_with_bad_files: Path, tmp_path: Path):
    out = tmp_path / "out"
    stats = run_pipeline(tree_with_bad_files, out)
    assert stats["total_files"] == 13
    assert stats["total_samples"] == 11 and stats["total_failures"] == 2
    failures = (out / "unetr" / "failures.csv").read_text().splitlines()
    assert failures[0] == "path,split,label,reason"
    assert any("broken.wav" in line and "corrupt audio header" in line for line in failures)
    assert any("empty.flac" in line and "empty file (0 bytes)" in line for line in failures)
    assert stats["samples"] == {
        "training": {"real": 3, "fake": 3},
        "validation": {"real": 1, "fake": 1},
        "testing": {"real": 1, "fake": 2},
    }
    assert stats["failures"]["training"]["real"] == 1


def test_chunk_output_appears_only_when_complete(for_tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    run_pipeline(for_tree, out)
    chunk_dir = out / "unetr" / "chunks" / "chunk-00000"
    assert read_chunk_metadata(chunk_dir)["chunk"]["chunk"] == "chunk-00000"
    assert not partial_dir_for(chunk_dir).exists()
    assert not list(out.rglob("*.partial*"))


def test_chunk_metadata_lists_every_batch_streamed_from_its_records(for_tree, tmp_path):
    out = tmp_path / "out"
    run_pipeline(for_tree, out, chunk_size=100, batch_size=2)  # one chunk of all 11 files
    chunk_dir = out / "unetr" / "chunks" / "chunk-00000"
    metadata = read_chunk_metadata(chunk_dir)
    assert [b["stem"] for b in metadata["batches"]] == [f"batch_0000{i}" for i in range(6)]
    # 6 training, 2 validation and 3 testing files: a batch ends where its split does.
    assert [b["num_samples"] for b in metadata["batches"]] == [2, 2, 2, 2, 2, 1]
    assert [b["split"] for b in metadata["batches"]] == ["training"] * 3 + ["validation"] + [
        "testing"
    ] * 2
    assert sum(len(b["source_files"]) for b in metadata["batches"]) == 11
    assert metadata["stats"]["samples"] and metadata["feature_shape"] == [128, 256]
    assert sorted(p.name for p in chunk_dir.iterdir() if not p.name.endswith(".pkl")) == [
        "chunk.json",
        "failures.csv",
        "properties.csv",
    ]  # the records file was scratch only


@pytest.mark.parametrize("chunk_size", [3, 5, 100])
def test_chunks_across_splits_keep_every_batch_to_one_split(for_tree: Path, tmp_path, chunk_size):
    """A chunk may hold the end of one split and the start of the next: its batch is written
    where the split changes, so each split's batches hold that split's files, in manifest order,
    whatever the chunk size."""
    run_pipeline(for_tree, tmp_path / "out", chunk_size=chunk_size, batch_size=4)
    metadata = pickle.loads((tmp_path / "out" / "unetr" / "batch_metadata.pkl").read_bytes())
    manifest = (tmp_path / "out" / "manifest.csv").read_text().splitlines()[1:]
    for split in ("training", "validation", "testing"):
        expected = [line.split(",")[0] for line in manifest if line.split(",")[1] == split]
        sources = [s for entry in metadata[split] for s in entry["source_files"]]
        assert sources == expected, split
        assert [entry["batch_index"] for entry in metadata[split]] == list(
            range(len(metadata[split]))
        )


def test_one_job_for_every_model_writes_what_each_models_own_job_writes(
    tree_with_bad_files: Path, tmp_path: Path
):
    """One decode serves every model: the outputs are byte for byte those of one job a model,
    for front-ends of every kind and for files that fail."""
    out = tmp_path / "out"
    build_manifest(out / "manifest.csv", DatasetConfig(input_dir=str(tree_with_bad_files)))
    chunks = write_chunks(out / "manifest.csv", 5, out / "chunks.csv")
    models = [
        resolve_model_settings({**CONFIG, "batch_size": 2}, name)
        for name in ("resnet_low_memory", "unetr", "lfcc", "raw")
    ]
    limits = ReadLimits(min_duration=0.1)
    for chunk in chunks:
        together = [out / "together" / s.model / chunk.id for s in models]
        extract_chunk_models(out / "manifest.csv", chunk, models, together, limits)
        for settings in models:
            alone = out / "alone" / settings.model / chunk.id
            extract_chunk(out / "manifest.csv", chunk, settings, alone, limits)
    together_files = sorted(p.relative_to(out / "together") for p in (out / "together").rglob("*"))
    alone_files = sorted(p.relative_to(out / "alone") for p in (out / "alone").rglob("*"))
    assert together_files == alone_files and len(together_files) > 4 * len(chunks) * 3
    for name in together_files:
        if (out / "alone" / name).is_file():
            assert (out / "together" / name).read_bytes() == (out / "alone" / name).read_bytes()
