"""Reading outputs back in both formats: load, iter_batches, BatchDataset."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import REPO, run_steps

import fraudprep
from fraudprep.extraction.extract import extract_chunk
from fraudprep.inputs.chunks import write_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest
from fraudprep.outputs.aggregate import aggregate_model
from fraudprep.run.settings import resolve_model_settings

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def produce(
    tree: Path, out: Path, model: str, storage: str, dataset: DatasetConfig | None = None
) -> Path:
    run_steps(out, model, dataset or DatasetConfig(input_dir=str(tree)), storage=storage)
    return out


@pytest.fixture(params=["pickle", "npy"])
def outputs(request, for_tree: Path, tmp_path: Path) -> tuple[Path, str]:
    return produce(for_tree, tmp_path / "out", "lfcc", request.param), request.param


def test_load_gives_the_whole_split(outputs):
    out, _ = outputs
    data, labels = fraudprep.load(out, "lfcc", "training")
    assert data.shape == (6, 60, 401) and data.dtype == np.float32
    assert labels.tolist() == [1, 1, 1, 0, 0, 0]
    empty = fraudprep.load(out, "lfcc", "validation")[0]
    assert len(empty) == 2


def test_iter_batches_and_dataset_agree_with_load(outputs):
    out, storage = outputs
    data, labels = fraudprep.load(out, "lfcc", "testing")
    batches = list(fraudprep.iter_batches(out, "lfcc", "testing"))
    # 11 files in 4 chunks of 3, 3, 3, 2: the 3 testing files end one chunk and fill the next.
    assert [len(b[1]) for b in batches] == [1, 2]
    if storage == "npy":
        assert isinstance(batches[0][0], np.memmap)  # read lazily, not into memory
    dataset = fraudprep.BatchDataset(out, "lfcc", "testing")
    assert len(dataset) == 3
    for i, (x, y) in enumerate(dataset):
        np.testing.assert_array_equal(x, data[i])
        assert y == labels[i]
    np.testing.assert_array_equal(dataset[-1][0], data[-1])
    with pytest.raises(IndexError):
        dataset[3]


def test_npy_outputs_load_without_pickle(for_tree: Path, tmp_path: Path):
    out = produce(for_tree, tmp_path / "out", "unetr", "npy")
    model_dir = out / "unetr"
    assert not list(model_dir.glob("*.pkl"))
    metadata = json.loads((model_dir / "batch_metadata.json").read_text())
    entry = metadata["training"][0]
    data = np.load(model_dir / Path(entry["data_path"]).name, allow_pickle=False)
    labels = np.load(model_dir / Path(entry["labels_path"]).name, allow_pickle=False)
    assert data.shape == (3, 128, 256) and labels.tolist() == entry["labels"]
    stats = fraudprep.read_dataset_stats(out, "unetr")
    assert stats["total_samples"] == 11 and len(stats["normalization"]["band_mean"]) == 128


def test_pickle_format_keeps_the_seed_snippet_keys(for_tree: Path, tmp_path: Path):
    out = produce(for_tree, tmp_path / "out", "unetr", "pickle")
    metadata = pickle.loads((out / "unetr" / "batch_metadata.pkl").read_bytes())
    assert set(metadata) == {"training", "validation", "testing"}
    assert all("file_path" in entry for entries in metadata.values() for entry in entries)


def test_missing_model_names_the_ones_present(outputs):
    out, _ = outputs
    with pytest.raises(FileNotFoundError, match=r"models there: \['lfcc'\]"):
        fraudprep.load(out, "resnet", "training")


def test_torch_dataloader_takes_the_dataset(outputs):
    torch = pytest.importorskip("torch", reason="torch is optional; install it to run this")
    out, _ = outputs
    loader = torch.utils.data.DataLoader(
        fraudprep.BatchDataset(out, "lfcc", "training"), batch_size=4, shuffle=True
    )
    batches = list(loader)
    assert sum(len(y) for _, y in batches) == 6
    assert batches[0][0].shape[1:] == (60, 401) and batches[0][0].dtype == torch.float32


def test_shuffled_iteration_mixes_classes_reproducibly_and_yields_every_sample(outputs):
    out, _ = outputs
    data, labels = fraudprep.load(out, "lfcc", "training")  # batches of one class each: 1 1 1 0 0 0
    first = list(fraudprep.iter_shuffled(out, "lfcc", "training", seed=3, buffer_batches=1))
    again = list(fraudprep.iter_shuffled(out, "lfcc", "training", seed=3, buffer_batches=1))
    other_epoch = list(
        fraudprep.iter_shuffled(out, "lfcc", "training", seed=3, epoch=1, buffer_batches=1)
    )
    order = [label for _, label in first]
    assert sorted(order) == sorted(labels.tolist())
    assert [label for _, label in again] == order  # same seed and epoch, same order
    rows = {x.tobytes() for x in data}
    assert {x.tobytes() for x, _ in first} == rows  # every sample once
    assert [x.tobytes() for x, _ in other_epoch] != [x.tobytes() for x, _ in first]
    assert order not in ([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1])  # classes are mixed


def test_int16_waveforms_come_back_as_floats_on_request(for_tree: Path, tmp_path: Path):
    config = {**CONFIG, "feature_profiles": {**CONFIG["feature_profiles"]}}
    config["feature_profiles"]["raw"] = {**CONFIG["feature_profiles"]["raw"], "dtype": "int16"}
    settings = resolve_model_settings({**config, "batch_size": 4}, "raw")
    out = tmp_path / "out"
    build_manifest(out / "manifest.csv", DatasetConfig(input_dir=str(for_tree)))
    chunks = write_chunks(out / "manifest.csv", 100, out / "chunks.csv")
    model_dir = out / "raw"
    model_dir.mkdir(parents=True)
    (model_dir / "settings.json").write_text(json.dumps(settings.as_dict()))
    dirs = [model_dir / "chunks" / c.id for c in chunks]
    for chunk, chunk_dir in zip(chunks, dirs, strict=True):
        extract_chunk(out / "manifest.csv", chunk, settings, chunk_dir)
    aggregate_model(chunks, dirs, model_dir, model_dir / "batch_metadata.pkl",
                    model_dir / "dataset_stats.pkl", model_dir / "failures.csv")  # fmt: skip
    stored, _ = fraudprep.load(out, "raw", "training")
    scaled, _ = fraudprep.load(out, "raw", "training", as_float=True)
    assert stored.dtype == np.int16 and scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, stored / 32767, rtol=1e-6)
    assert np.abs(scaled).max() <= 1.0 and np.abs(scaled).max() > 0.05


def test_samples_come_with_their_path_speaker_attack_and_split(for_tree: Path, tmp_path: Path):
    """For score files and per-attack EER without joining tables again."""
    listing = tmp_path / "protocol.csv"
    lines = ["path,split,label,speaker,attack"]
    for path in sorted(for_tree.rglob("*.*")):
        split, label = path.parent.parent.name, path.parent.name
        attack = "-" if label == "real" else f"A0{len(path.stem) % 3}"
        lines.append(f"{path},{split},{label},spk{len(path.name) % 4},{attack}")
    listing.write_text("\n".join(lines) + "\n")
    dataset = DatasetConfig(dataset="csv", listing=str(listing))
    out = produce(for_tree, tmp_path / "out", "lfcc", "npy", dataset)
    expected = {row.split(",")[0]: row.split(",") for row in lines[1:]}
    seen = 0
    for _, labels, info in fraudprep.iter_batches(out, "lfcc", "testing", with_info=True):
        assert info["split"] == "testing" and len(info["path"]) == len(labels)
        for path, speaker, attack in zip(
            info["path"], info["speaker"], info["attack"], strict=True
        ):
            assert [speaker, attack] == expected[path][3:]
            seen += 1
    assert seen == 3
    x, y, sample = fraudprep.BatchDataset(out, "lfcc", "validation", with_info=True)[0]
    assert sample["split"] == "validation" and sample["speaker"] == expected[sample["path"]][3]
    assert x.shape == (60, 401) and y in (0, 1)


def test_training_data_normalised_has_zero_mean_and_unit_spread(for_tree: Path, tmp_path: Path):
    out = produce(for_tree, tmp_path / "out", "resnet_low_memory", "pickle")
    raw, _ = fraudprep.load(out, "resnet_low_memory", "training")
    by_channel, _ = fraudprep.load(out, "resnet_low_memory", "training", normalize="channel")
    np.testing.assert_allclose(by_channel.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(by_channel.std(axis=(0, 1, 2)), 1, atol=1e-3)
    by_band, _ = fraudprep.load(out, "resnet_low_memory", "training", normalize="band")
    rows = by_band[..., 0].transpose(1, 0, 2).reshape(by_band.shape[1], -1)
    spread = raw[..., 0].transpose(1, 0, 2).reshape(raw.shape[1], -1).std(axis=1)
    np.testing.assert_allclose(rows.mean(axis=1), 0, atol=1e-3)
    np.testing.assert_allclose(rows.std(axis=1)[spread > 1e-3], 1, atol=1e-2)
    nchw, _ = fraudprep.load(out, "resnet_low_memory", "testing", channels_first=True)
    nhwc, _ = fraudprep.load(out, "resnet_low_memory", "testing")
    assert nchw.shape == (len(nhwc), 3, 128, 128)
    np.testing.assert_array_equal(nchw, nhwc.transpose(0, 3, 1, 2))
    with pytest.raises(ValueError, match="normalize must be one of"):
        fraudprep.load(out, "resnet_low_memory", "testing", normalize="global")


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
