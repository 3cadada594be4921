"""The whole DAG under ``snakemake --cores 2`` on generated audio, as a user runs it."""

from __future__ import annotations

import csv
import pickle
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from helpers import snakemake_command, write_audio

OUT = "data/preprocessed"
MODELS = {
    "resnet": (224, 224, 3),
    "mobilenet": (224, 224, 3),
    "unetr": (128, 256),
    "resnet_low_memory": (128, 128, 3),
}

# The seed guide's loading snippet, unchanged but for the model folder.
SEED_SNIPPET = """
import pickle
from pathlib import Path

# Load metadata
with open('data/preprocessed/{model}/batch_metadata.pkl', 'rb') as f:
    metadata = pickle.load(f)

# Load training batches
training_data = []
training_labels = []

for batch_info in metadata['training']:
    with open(batch_info['file_path'], 'rb') as f:
        batch = pickle.load(f)
        training_data.append(batch['data'])
        training_labels.append(batch['labels'])
"""


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        snakemake_command(workdir, *args), capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    counts = {"training": 14, "validation": 5, "testing": 5}
    for split, n in counts.items():
        for label in ("real", "fake"):
            for i in range(n):
                rate = (16000, 22050, 44100)[i % 3]
                write_audio(
                    workdir / "corpus" / split / label / f"{label} {i}.wav",
                    seconds=0.5 + 0.3 * i,
                    rate=rate,
                    seed=i,
                    channels=1 + (i % 4 == 0),
                )
    (workdir / "corpus/training/real/garbage.wav").write_bytes(b"\x00" * 100)
    result = snakemake(workdir, "--cores", "2", "--config", "input_dir=corpus", "chunk_size=10")
    assert result.returncode == 0, result.stderr[-3000:]
    (workdir / "stdout.txt").write_text(result.stdout + result.stderr)
    return workdir


def manifest_counts(workdir: Path) -> Counter:
    with open(workdir / "data/preprocessed/manifest.csv") as handle:
        return Counter((r["split"], int(r["label"])) for r in csv.DictReader(handle))


def test_run_prints_summary_and_where_outputs_are(finished_run: Path):
    log = (finished_run / "stdout.txt").read_text()
    assert "fraudprep outputs in data/preprocessed/:" in log
    assert "resnet: 49 files: 48 ok, 1 failed — see data/preprocessed/resnet/failures.csv" in log


@pytest.mark.parametrize("model", sorted(MODELS))
def test_seed_snippet_loads_every_model(finished_run: Path, model: str):
    script = SEED_SNIPPET.format(model=model) + (
        "import numpy as np\n"
        "data = np.concatenate(training_data); labels = np.concatenate(training_labels)\n"
        "print(data.shape, data.dtype, int((labels == 0).sum()), int((labels == 1).sum()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=finished_run, capture_output=True, text=True, check=True
    )
    shape = ", ".join(map(str, (28, *MODELS[model])))
    counts = manifest_counts(finished_run)
    # One training/real file is garbage: it is a failure, not a sample.
    assert counts[("training", 0)] == 15 and counts[("training", 1)] == 14
    assert result.stdout.split() == f"({shape}) float32 14 14".split()


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_split_matches_the_manifest(finished_run: Path, model: str):
    model_dir = finished_run / "data/preprocessed" / model
    metadata = pickle.loads((model_dir / "batch_metadata.pkl").read_bytes())
    stats = pickle.loads((model_dir / "dataset_stats.pkl").read_bytes())
    counts = manifest_counts(finished_run)
    for split in ("training", "validation", "testing"):
        labels = Counter()
        for info in metadata[split]:
            batch = pickle.loads((finished_run / info["file_path"]).read_bytes())
            assert batch["data"].dtype == np.float32 and batch["data"].shape[1:] == MODELS[model]
            assert np.isfinite(batch["data"]).all()
            labels.update(batch["labels"].tolist())
        failed = {0: stats["failures"][split]["real"], 1: stats["failures"][split]["fake"]}
        assert labels[0] + failed[0] == counts[(split, 0)]
        assert labels[1] + failed[1] == counts[(split, 1)]
    assert stats["total_samples"] + stats["total_failures"] == sum(counts.values())


def test_larger_chunks_are_extracted_first(finished_run: Path):
    # 49 files at chunk_size 10 make 8 chunks (a multiple of 4): one of 7 files, seven of 6.
    # Each extraction job (one a chunk, every model) has its chunk's size as its priority, so
    # Snakemake starts the 7-file chunk in its first round; the jobs of one round are printed
    # in no fixed order, so the priorities are checked, not the order of the lines.
    log = (finished_run / "stdout.txt").read_text()
    started = dict(re.findall(r"wildcards: chunk=([\w-]+)\s+priority: (\d+)", log))
    assert started == {"chunk-00000": "7", **{f"chunk-{i:05d}": "6" for i in range(1, 8)}}


def test_second_run_has_nothing_to_do(finished_run: Path):
    result = snakemake(
        finished_run, "--cores", "2", "--config", "input_dir=corpus", "chunk_size=10"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr


def test_every_rule_wrote_its_log_and_benchmark(finished_run: Path):
    for rule in (
        "build_manifest",
        "split_chunks",
        "write_settings",
        "extract_features",
        "aggregate_batches",
    ):
        assert list((finished_run / OUT / "logs").glob(f"{rule}*")), rule
        assert list((finished_run / OUT / "benchmarks").glob(f"{rule}*")), rule
    extract_log = (finished_run / OUT / "logs/extract_features/chunk-00000.log").read_text()
    assert "Initial memory usage:" in extract_log
    assert re.search(r"Saved batch 0 with [1-8] samples", extract_log)  # the seed's line
