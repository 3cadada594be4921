"""format: shards and the compact dtypes, end to end: written by the workflow, read back by our
loader, by the ``webdataset`` package and by ``wids``; streamed exactly once over workers and
ranks; identical after a kill; refused before any job when the disk is too small."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import snakemake_command, write_audio

import fraudprep
from fraudprep.base.formats import iter_shard_samples
from fraudprep.extraction.store import UINT8_SCALE
from fraudprep.inputs.manifest import iter_manifest
from fraudprep.outputs.streaming import iter_shards

MODELS = "models=[resnet,mobilenet,lfcc]"
SHARDS = ("format=shards", "dtype=uint8", "shard_samples=3", "chunk_size=8")
OUT = "data/preprocessed"


def make_corpus(root: Path) -> Path:
    for split, n in {"training": 7, "validation": 4, "testing": 4}.items():
        for label in ("real", "fake"):
            for i in range(n):
                path = root / split / label / f"{label}{i}.wav"
                seed = i + 10 * (label == "fake")
                write_audio(path, seconds=1.0 + 0.3 * i, rate=(16000, 22050)[i % 2], seed=seed)
    return root


def run(workdir: Path, *config: str, check: bool = True) -> subprocess.CompletedProcess:
    command = snakemake_command(
        workdir, "--cores", "2", "--config", "input_dir=corpus", MODELS,
        "report_figures=False", *config,
    )  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def workdir_for(root: Path, corpus: Path) -> Path:
    root.mkdir(parents=True)
    (root / "corpus").symlink_to(corpus)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def shards_run(tmp_path_factory, corpus: Path) -> Path:
    workdir = workdir_for(tmp_path_factory.mktemp("shards") / "run", corpus)
    run(workdir, *SHARDS)
    return workdir / OUT


@pytest.fixture(scope="module")
def float32_run(tmp_path_factory, corpus: Path) -> Path:
    workdir = workdir_for(tmp_path_factory.mktemp("npy") / "run", corpus)
    run(workdir, "format=npy", "chunk_size=8")
    return workdir / OUT


def shard_digests(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.glob("*/*.tar")) + sorted(out.glob("*/*.json"))
    }


def test_shards_are_named_listed_and_hold_every_sample(shards_run: Path):
    manifest = list(iter_manifest(shards_run / "manifest.csv"))
    for split in ("training", "validation", "testing"):
        names = sorted(p.name for p in (shards_run / "resnet").glob(f"{split}-*.tar"))
        assert names == [f"{split}-{i:06d}.tar" for i in range(len(names))]
        shard_list = json.loads((shards_run / "resnet" / f"{split}.shards.json").read_text())
        assert shard_list["__kind__"] == "wids-shard-index-v1"
        assert [s["url"] for s in shard_list["shardlist"]] == names
        paths = []
        for shard in shard_list["shardlist"]:
            samples = list(iter_shard_samples(shards_run / "resnet" / shard["url"]))
            assert len(samples) == shard["nsamples"] <= 3
            paths += [json.loads(m["json"])["path"] for _, m in samples]
        assert sorted(paths) == sorted(row.path for row in manifest if row.split == split)


def test_webdataset_and_wids_read_what_our_loader_reads(shards_run: Path):
    import webdataset
    import wids

    ours = list(iter_shards(shards_run, "resnet", "validation", shuffle=False,
                            exactly_once=True, with_info=True))  # fmt: skip
    urls = sorted(str(p) for p in (shards_run / "resnet").glob("validation-*.tar"))
    theirs = list(webdataset.WebDataset(urls, shardshuffle=False).decode().to_tuple("npy", "json"))
    assert len(theirs) == len(ours) == 8
    for (x, label, info), (array, record) in zip(ours, theirs, strict=True):
        assert array.dtype == np.uint8 and array.shape == (224, 224)  # stored: one channel
        assert x.shape == (224, 224, 3) and x.dtype == np.float32  # restored: the profile's
        np.testing.assert_array_equal(x[..., 2], array.astype(np.float32) / UINT8_SCALE)
        assert (label, info["path"]) == (record["label"], record["path"])
    shard_list = str(shards_run / "resnet" / "validation.shards.json")
    indexed = wids.ShardListDataset(shard_list, transformations=[])  # random access
    assert len(indexed) == 8
    np.testing.assert_array_equal(np.load(indexed[5][".npy"]), theirs[5][0])


def test_compact_samples_equal_float32_outputs_within_their_bound(shards_run, float32_run):
    for split in ("training", "testing"):
        compact, labels = fraudprep.load(shards_run, "resnet", split)
        exact, exact_labels = fraudprep.load(float32_run, "resnet", split)
        assert compact.dtype == np.float32 and compact.shape == exact.shape
        np.testing.assert_array_equal(labels, exact_labels)
        assert np.abs(compact - exact).max() <= 0.5 / UINT8_SCALE + 1e-7
        lfcc, _ = fraudprep.load(shards_run, "lfcc", split)  # uint8 -> float16 for lfcc
        lfcc_exact, _ = fraudprep.load(float32_run, "lfcc", split)
        assert np.all(np.abs(lfcc - lfcc_exact) <= np.abs(lfcc_exact) * 2.0**-11 + 1e-6)
        assert not np.array_equal(lfcc, lfcc_exact)  # really stored as float16


def test_identical_profiles_are_stored_once(shards_run: Path):
    resnet = sorted((shards_run / "resnet").glob("*.tar"))
    assert resnet
    for path in resnet:
        assert os.path.samefile(path, shards_run / "mobilenet" / path.name)
    assert fraudprep.read_dataset_stats(shards_run, "mobilenet")["settings"]["model"] == "mobilenet"


def test_exactly_once_over_two_workers_and_two_ranks(shards_run: Path):
    manifest = [row.path for row in iter_manifest(shards_run / "manifest.csv")]
    training = [p for p, row in zip(manifest, iter_manifest(shards_run / "manifest.csv"),
                                    strict=True) if row.split == "training"]  # fmt: skip
    seen = []
    for rank in range(2):
        for worker in range(2):
            stream = iter_shards(shards_run, "resnet", "training", seed=1, epoch=2, rank=rank,
                                 world_size=2, exactly_once=True, with_info=True,
                                 worker=(worker, 2))  # fmt: skip
            seen += [info["path"] for _, _, info in stream]
    assert sorted(seen) == sorted(training) and len(seen) == 14


def test_training_streams_give_every_rank_the_same_count_in_an_order_of_seed_and_epoch(
    shards_run: Path,
):
    def stream(rank: int, epoch: int, worker: int = 0, workers: int = 1) -> list[str]:
        samples = iter_shards(shards_run, "resnet", "training", seed=3, epoch=epoch,
                              rank=rank, world_size=2, with_info=True, buffer_size=4,
                              worker=(worker, workers))  # fmt: skip
        return [info["path"] for _, _, info in samples]

    per_rank = [sum(len(stream(rank, 0, w, 2)) for w in range(2)) for rank in range(2)]
    assert per_rank == [7, 7]  # 14 training samples over 2 ranks, whatever the shards hold
    assert stream(0, 0) == stream(0, 0)
    assert stream(0, 0) != stream(0, 1)
    # Shards hold one class each here (the corpus is laid out by class): each DataLoader
    # worker reads several at once, so even its first samples, a batch, mix the classes.
    for worker in range(2):
        labels = [y for _, y in iter_shards(shards_run, "resnet", "training", seed=0,
                                            worker=(worker, 2), buffer_size=1)]  # fmt: skip
        assert set(labels[:4]) == {0, 1}, labels


def test_samples_as_stored_restore_in_the_training_process(shards_run: Path):
    stats = fraudprep.read_dataset_stats(shards_run, "resnet")
    stored = list(iter_shards(shards_run, "resnet", "testing", as_stored=True, shuffle=False,
                              exactly_once=True, worker=(0, 1)))  # fmt: skip
    batch = np.stack([x for x, _ in stored])
    assert batch.dtype == np.uint8 and batch.shape == (8, 224, 224)  # a twelfth of float32
    restored = fraudprep.restored(batch, stats, normalize="channel", channels_first=True)
    direct = iter_shards(shards_run, "resnet", "testing", shuffle=False, exactly_once=True,
                         normalize="channel", channels_first=True, worker=(0, 1))  # fmt: skip
    np.testing.assert_array_equal(restored, np.stack([x for x, _ in direct]))


def test_a_killed_run_resumes_to_identical_shards(tmp_path, corpus, shards_run):
    workdir = workdir_for(tmp_path / "run", corpus)
    command = snakemake_command(
        workdir, "--cores", "2", "--config", "input_dir=corpus", MODELS,
        "report_figures=False", *SHARDS,
    )  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((workdir / OUT).glob("resnet/chunks/chunk-*/chunk.json")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    run(workdir, *SHARDS)
    assert shard_digests(workdir / OUT) == shard_digests(shards_run)


def test_a_run_that_does_not_fit_is_refused_before_any_extraction(tmp_path, corpus, tiny_disk):
    workdir = workdir_for(tmp_path / "run", corpus)
    result = run(workdir, f"output_dir={tiny_disk}/out", check=False)
    assert result.returncode != 0
    line = next(x for x in result.stderr.splitlines() if x.startswith("fraudprep: the outputs"))
    assert "free" in line and "MB spare" in line  # the whole ask is explained
    assert "with format: shards and compact dtypes (uint8 mel images, float16 otherwise)" in line
    assert not list(tiny_disk.glob("out/*/chunks/*"))


def test_a_rank_without_shards_still_yields_its_share_in_training(shards_run: Path):
    """More ranks than shards: in training every rank must yield total // world_size samples
    (DistributedDataParallel waits for the slowest); in evaluation each sample once."""
    world = len(list((shards_run / "resnet").glob("validation-*.tar"))) + 1

    def count(rank: int, exactly_once: bool) -> int:
        stream = iter_shards(shards_run, "resnet", "validation", rank=rank, world_size=world,
                             exactly_once=exactly_once, worker=(0, 1))  # fmt: skip
        return sum(1 for _ in stream)

    assert [count(rank, False) for rank in range(world)] == [8 // world] * world
    once = [count(rank, True) for rank in range(world)]
    assert sum(once) == 8 and 0 in once
