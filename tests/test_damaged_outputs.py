"""Issue 26, 6: a published batch file deleted, cut short or changed is never read as if it
were whole. The loader names it; a rerun of the workflow rebuilds what is missing or short."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from helpers import run_steps, snakemake_command, write_audio

import fraudprep
from fraudprep.inputs.datasets import DatasetConfig


@pytest.mark.parametrize("storage", ["pickle", "npy", "shards"])
def test_the_loader_names_a_missing_short_or_changed_batch_file(
    for_tree: Path, tmp_path: Path, storage: str
):
    out = tmp_path / "out"
    run_steps(out, "unetr", DatasetConfig(input_dir=str(for_tree)), storage=storage)
    metadata = fraudprep.read_metadata(out, "unetr")
    key = {"pickle": "file_path", "npy": "data_path", "shards": "shard_path"}[storage]
    files = [out / "unetr" / Path(entry[key]).name for entry in metadata["training"]]
    assert len(files) >= 2
    fraudprep.load(out, "unetr", "training")  # whole: reads, and verifies, every file

    changed = bytearray(files[0].read_bytes())
    changed[-100] ^= 0x01  # one flipped bit inside the array
    files[0].write_bytes(bytes(changed))
    with pytest.raises(fraudprep.DamagedOutputError, match=r"checksum differs.*delete it"):
        fraudprep.load(out, "unetr", "training")
    files[0].write_bytes(files[0].read_bytes()[:1000])
    with pytest.raises(fraudprep.DamagedOutputError, match=r"has 1,000 bytes where"):
        list(fraudprep.iter_batches(out, "unetr", "training"))
    files[0].unlink()
    with pytest.raises(fraudprep.DamagedOutputError, match=f"{files[0].name} is missing"):
        fraudprep.BatchDataset(out, "unetr", "training")[0]


def digests(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.glob("*/*"))
        if path.is_file()
    }


def test_a_rerun_rebuilds_deleted_and_truncated_outputs_to_the_same_bytes(tmp_path: Path):
    for split in ("training", "validation", "testing"):
        for label in ("real", "fake"):
            for i in range(3):
                write_audio(tmp_path / "corpus" / split / label / f"{i}.wav", seconds=1.0 + i / 4,
                            rate=16000, seed=i + 7 * (label == "fake"))  # fmt: skip
    command = snakemake_command(
        tmp_path, "--cores", "2", "--config", "input_dir=corpus", "models=[unetr,lfcc]",
        "report_figures=false", "batch_size=2", "chunk_size=8",
    )  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    out = tmp_path / "data" / "preprocessed"
    before = digests(out)
    (out / "unetr" / "training_batch_0.pkl").unlink()
    short = out / "lfcc" / "validation_batch_1.pkl"
    short.write_bytes(short.read_bytes()[:1000])

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "fraudprep: " + str(Path("data/preprocessed/unetr/training_batch_0.pkl")) in rerun.stderr
    assert "validation_batch_1.pkl has 1,000 bytes where" in rerun.stderr
    assert digests(out) == before
    fraudprep.load(out, "lfcc", "validation")
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_aggregation_refuses_a_chunk_whose_batch_lost_its_data(for_tree: Path, tmp_path: Path):
    """Batch files are not synced one by one: a power cut may publish a chunk whose batch
    lost its data. Aggregation sees it by size, removes the chunk and says to rerun."""
    from fraudprep.inputs.chunks import read_chunks
    from fraudprep.outputs.aggregate import DamagedChunkError, aggregate_model

    out = tmp_path / "out"
    run_steps(out, "unetr", DatasetConfig(input_dir=str(for_tree)))
    chunk_dirs = sorted((out / "unetr" / "chunks").iterdir())
    lost = next(chunk_dirs[1].glob("batch_*.pkl"))
    lost.write_bytes(b"")  # what a power cut leaves of a file whose data was not on disk
    model_dir = out / "unetr"
    with pytest.raises(DamagedChunkError, match=f"{lost.name} has 0 bytes where .* rerun"):
        aggregate_model(read_chunks(out / "chunks.csv"), chunk_dirs, model_dir,
                        model_dir / "batch_metadata.pkl", model_dir / "dataset_stats.pkl",
                        model_dir / "failures.csv")  # fmt: skip
    assert not chunk_dirs[1].exists()
