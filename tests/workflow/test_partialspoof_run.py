"""PartialSpoof's segment labels from its release files to training code: planted in a small
tree, they come back per sample from ``fraudprep.load(..., with_info=True)`` (a single dataset,
format npy) and in the shard records of a run of several corpora (format shards), with each
sample's corpus; the other corpus's samples carry none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import build_tree, snakemake_command, write_audio

import fraudprep
from fraudprep.inputs.manifest import SEGMENTS_COLUMNS, iter_manifest, segments_path
from fraudprep.outputs.streaming import iter_shards

OUT = "data/preprocessed"
PROTOCOLS = "protocols/PartialSpoof_LA_cm_protocols"
# part -> (speaker, utterance, key, release segment labels: 1 bona fide, 0 spoof)
UTTERANCES = {
    "train": [
        ("LA_0079", "LA_T_1138215", "bonafide", [1, 1, 1, 1, 1, 1]),
        ("LA_0079", "CON_T_0000000", "spoof", [1, 1, 0, 0, 1, 1, 1]),
        ("LA_0080", "CON_T_0000001", "spoof", [0, 1, 1, 1, 1, 1]),
    ],
    "dev": [
        ("LA_0069", "CON_D_0000001", "spoof", [1, 0, 0, 0, 1, 1]),
        ("LA_0069", "LA_D_1047731", "bonafide", [1, 1, 1, 1, 1, 1, 1]),
    ],
    "eval": [("LA_0039", "CON_E_0000002", "spoof", [1, 1, 1, 1, 0, 0])],
}
SPLITS = {"train": "training", "dev": "validation", "eval": "testing"}


def partialspoof_tree(database: Path, resolutions=(0.16, 0.32)) -> dict[str, str]:
    """The release's layout under ``database``; returns path -> fraudprep's labels (0 real,
    1 fake, one digit per segment), those planted (the same at every resolution, for the
    test's sake)."""
    expected = {}
    (database / PROTOCOLS).mkdir(parents=True)
    (database / "segment_labels").mkdir()
    for seed, (part, utterances) in enumerate(UTTERANCES.items()):
        lines, labels = [], {}
        for i, (speaker, name, key, segments) in enumerate(utterances):
            path = write_audio(database / part / "con_wav" / f"{name}.wav", 1.0, 16000, seed + i)
            lines.append(f"{speaker} {name} - - {key}")
            labels[name] = np.array(segments)
            expected[str(path)] = "".join("0" if s == 1 else "1" for s in segments)
        protocol = database / PROTOCOLS / f"PartialSpoof.LA.cm.{part}.trl.txt"
        protocol.write_text("\n".join(lines) + "\n")
        for resolution in resolutions:
            # As released: a pickled dict, in a .npy file.
            target = database / "segment_labels" / f"{part}_seglab_{resolution}.npy"
            np.save(target, np.array(labels, dtype=object), allow_pickle=True)
    return expected


def run(workdir: Path, *config: str) -> None:
    command = snakemake_command(
        workdir, "--cores", "2", "--config", "models=[lfcc]", "chunk_size=3", *config
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def single_run(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    workdir = tmp_path_factory.mktemp("partialspoof")
    expected = partialspoof_tree(workdir / "PartialSpoof" / "database")
    run(workdir, "dataset=partialspoof", f"input_dir={workdir / 'PartialSpoof'}", "format=npy")
    return workdir, expected


def test_segment_labels_come_back_per_sample_with_info(single_run):
    workdir, expected = single_run
    seen = {}
    for split in SPLITS.values():
        _, labels, info = fraudprep.load(workdir / OUT, "lfcc", split, with_info=True)
        for i, path in enumerate(info["path"]):
            segments = info["segment_labels"][i]
            assert segments.dtype == np.int8
            assert info["segment_resolution"][i] == 0.16
            assert int(labels[i]) == int(segments.max())  # fake exactly where a segment is
            seen[path] = "".join(map(str, segments.tolist()))
    assert seen == expected


def test_segments_table_beside_the_manifest_in_row_order(single_run):
    workdir, expected = single_run
    manifest = workdir / OUT / "manifest.csv"
    table = segments_path(manifest).read_text().splitlines()
    assert table[0] == ",".join(SEGMENTS_COLUMNS)
    rows = [line.split(",") for line in table[1:]]
    paths = [row.path for row in iter_manifest(manifest)]
    assert [paths[int(r[0])] for r in rows] == [r[1] for r in rows]
    assert {r[1]: r[3] for r in rows} == expected


def test_corpus_and_segment_labels_in_shard_records(tmp_path: Path):
    expected = partialspoof_tree(tmp_path / "ps")
    build_tree(tmp_path / "for")
    corpora = (
        f"corpora=[{{name: ps, dataset: partialspoof, input_dir: '{tmp_path / 'ps'}', "
        f"segment_resolution: 0.32}}, {{name: fo, dataset: for, input_dir: '{tmp_path / 'for'}'}}]"
    )
    run(tmp_path, corpora, "format=shards")
    seen, corpora_seen = {}, set()
    for split in SPLITS.values():
        samples = iter_shards(
            tmp_path / OUT, "lfcc", split, with_info=True, exactly_once=True, shuffle=False
        )
        for _, label, record in samples:
            corpora_seen.add(record["corpus"])
            if record["corpus"] == "fo":
                assert "segment_labels" not in record
                continue
            assert record["segment_resolution"] == 0.32
            assert label == int(record["segment_labels"].max())
            seen[record["path"]] = "".join(map(str, record["segment_labels"].tolist()))
        _, _, info = fraudprep.load(tmp_path / OUT, "lfcc", split, with_info=True)
        for corpus, segments in zip(info["corpus"], info["segment_labels"], strict=True):
            assert (segments is None) == (corpus == "fo")
    assert seen == expected
    assert corpora_seen == {"ps", "fo"}
