"""The corpus as a shortcut in a run of several corpora (issue 25 item 4): the three corpora of
``corpora_trees`` and a fourth, ``synth``, all fake and for testing only (one of its files
broken, so that a failure sits among the samples), with two augmented copies of each training
file. The corpus entry of the shortcut check, the warning naming ``synth``, the summary and
report lines, each sample's corpus in ``with_info`` (copies too), and ``fraudprep info``
counting leaked files (not shared sources)."""

from __future__ import annotations

import csv
import pickle
import subprocess
from pathlib import Path

import pytest
import yaml
from corpora_trees import build_corpora, corpora_config
from helpers import REPO, snakemake_command, write_audio

import fraudprep
from fraudprep.cli.info import describe
from fraudprep.inputs.manifest import SPLITS, iter_manifest

OUT = "data/preprocessed"
SYNTH_FILES = 4  # decodable, all fake; one more is broken


@pytest.fixture(scope="module")
def corpora_run(tmp_path_factory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("corpora_shortcuts")
    trees = build_corpora(workdir / "in")
    synth = workdir / "in" / "synth"
    listing = ["path,speaker,label,split"]
    for index in range(SYNTH_FILES):
        write_audio(synth / f"{index}.wav", seconds=0.4, rate=8000, seed=100 + index)
        listing.append(f"{index}.wav,s{index},fake,test")
    (synth / "broken.wav").write_bytes(b"RIFF not audio at all")
    listing.append("broken.wav,s9,fake,test")
    (synth / "listing.csv").write_text("\n".join(listing) + "\n")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"] = [
        *corpora_config(trees),
        {"name": "synth", "dataset": "csv", "listing": str(synth / "listing.csv"),
         "split": "testing"},
    ]  # fmt: skip
    # Copies of the training files: each copy's corpus is its file's (one manifest row, two
    # samples in a row).
    config["augmentation"] = {"copies": 2, "seed": 3, "pool": [{"kind": "telephone"}]}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = snakemake_command(
        workdir, "--cores", "2", "--config", "models=[lfcc]", "chunk_size=8"
    )
    command[command.index("--configfile") + 1] = str(workdir / "config.yaml")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, result.stdout + result.stderr


def stats_of(workdir: Path) -> dict:
    with open(workdir / OUT / "lfcc" / "dataset_stats.pkl", "rb") as handle:
        return pickle.load(handle)


def test_the_corpus_all_fake_is_named_in_stats_summary_and_report(corpora_run):
    workdir, console = corpora_run
    shortcuts = stats_of(workdir)["shortcuts"]
    testing = shortcuts["corpus"]["by_split"]["testing"]
    assert testing["by_corpus"]["synth"] == {"real": 0, "fake": SYNTH_FILES, "fake_share": 1.0}
    assert set(testing["by_corpus"]) == {"la19", "itw", "synth"}
    [item] = [item for item in shortcuts["flagged"] if item["property"] == "corpus"]
    assert item["corpus"] == "synth" and item["splits"] == ["testing"]
    warning = (
        "warning: corpus synth is all fake: a detector can learn the corpus instead of the voice "
        f"({SYNTH_FILES} fake files: {SYNTH_FILES} in testing)"
    )
    assert warning in console
    assert "the corpus alone tells real from fake with AUC" in console
    assert "corpus synth: 5 files, 4 ok (testing 4), 1 failed, 100% fake" in console
    # Each property's AUC within each corpus beside the pooled one.
    within = shortcuts["properties"]["rms_dbfs"]["by_split"]["training"]["by_corpus"]
    assert set(within) == {"la19", "mlaad"}
    html = (workdir / OUT / "report" / "lfcc" / "shortcuts.html").read_text()
    assert "AUC within each corpus" in html and "synth 100%" not in html  # training's shares
    assert "corpus the file comes from" in html


def test_each_samples_corpus_in_with_info_is_the_manifests(corpora_run):
    workdir, _ = corpora_run
    manifest = {row.path: row.corpus for row in iter_manifest(workdir / OUT / "manifest.csv")}
    seen = 0
    for split in SPLITS:
        _, labels, info = fraudprep.load(workdir / OUT, "lfcc", split, with_info=True)
        assert len(info["corpus"]) == len(labels)
        assert info["corpus"] == [manifest[path] for path in info["path"]]
        seen += len(labels)
    assert seen == len(manifest) - 1  # all but the broken file
    _, labels, info = fraudprep.load(workdir / OUT, "lfcc", "training", augmented="only",
                                     with_info=True)  # fmt: skip
    assert len(labels) == 2 * 12
    assert info["corpus"] == [manifest[path] for path in info["path"]]
    assert set(info["corpus"]) == {"la19", "mlaad"}
    dataset = fraudprep.BatchDataset(workdir / OUT, "lfcc", "testing", with_info=True)
    corpora = {dataset[i][2]["corpus"] for i in range(len(dataset))}
    assert corpora == {"la19", "itw", "synth"}


def test_info_counts_leaked_files_not_shared_sources(corpora_run):
    workdir, _ = corpora_run
    with open(workdir / OUT / "leakage.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    files = sum(1 for row in rows if row["path"])
    assert any(row["kind"] == "source" and not row["path"] for row in rows)
    assert files < len(rows)
    lines = describe(workdir / OUT, ["lfcc"])
    print("\n".join(lines))
    [line] = [line for line in lines if line.startswith("  leakage")]
    assert line.endswith(f"({files} files): see leakage.csv"), line
    assert "1 source shared by corpora" in line
