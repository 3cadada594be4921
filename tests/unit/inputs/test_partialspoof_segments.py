"""PartialSpoof's segment labels: read at a resolution, turned into fraudprep's labels (the
release writes 1 for bona fide segments), and the corpora option that picks the resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import write_audio

from fraudprep.base import extsort
from fraudprep.inputs.corpora import CorporaConfig, segment_sources, source_from_record
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.datasets.partialspoof import iter_segment_labels, labels_text
from fraudprep.inputs.manifest import ManifestError, iter_manifest, iter_segments
from fraudprep.inputs.manifest_build import build_manifest

PROTOCOLS = "protocols/PartialSpoof_LA_cm_protocols"


def tree(database: Path) -> Path:
    (database / PROTOCOLS).mkdir(parents=True)
    (database / "segment_labels").mkdir()
    labels = {"CON_T_0000000": np.array([1, 0, 0, 1]), "LA_T_1": np.array([1, 1])}
    np.save(database / "segment_labels" / "train_seglab_0.16.npy", np.array(labels, dtype=object))
    return database


def test_release_labels_become_fraudprep_labels():
    assert labels_text(np.array([1, 0, 0, 1])) == "0110"  # 0 spoof in the release: fake
    assert labels_text([1, 1]) == "00"
    with pytest.raises(ValueError, match="other than 0 and 1"):
        labels_text([2, 1])


def test_labels_read_with_the_readers_paths(tmp_path: Path, caplog):
    database = tree(tmp_path / "PartialSpoof" / "database")
    cfg = DatasetConfig("partialspoof", str(tmp_path / "PartialSpoof"))
    assert dict(iter_segment_labels(cfg, 0.16)) == {
        str(database / "train" / "con_wav" / "CON_T_0000000.wav"): "0110",
        str(database / "train" / "con_wav" / "LA_T_1.wav"): "00",
    }
    assert "dev has none" in caplog.text  # the missing parts are named


def test_segment_resolution_per_corpus(tmp_path: Path):
    entry = {"name": "ps", "dataset": "partialspoof", "input_dir": str(tmp_path)}
    default = CorporaConfig.from_entries([entry])
    assert [s.resolution for s in segment_sources(default)] == [0.16]
    assert "segment_resolution" not in default.as_dict()["corpora"][0]  # records as before
    chosen = CorporaConfig.from_entries([{**entry, "segment_resolution": 0.64}])
    assert source_from_record(chosen.as_dict()) == chosen
    assert [s.resolution for s in segment_sources(chosen)] == [0.64]
    assert segment_sources(CorporaConfig.from_entries([{**entry, "segment_resolution": 0}])) == []
    assert [s.corpus for s in segment_sources(DatasetConfig("partialspoof", "x"))] == [""]
    assert segment_sources(DatasetConfig("for", "x")) == []
    with pytest.raises(ManifestError, match="not one of PartialSpoof's segment resolutions"):
        CorporaConfig.from_entries([{**entry, "segment_resolution": 0.1}])
    with pytest.raises(ManifestError, match="not 'for'"):
        CorporaConfig.from_entries([{"dataset": "for", "segment_resolution": 0.16}])


def test_segments_table_joined_on_disk(tmp_path: Path, monkeypatch, caplog):
    """Many files, runs of two items: the table comes out in manifest row order, files without
    labels left out (and counted), a label at odds with the utterance label reported."""
    monkeypatch.setattr(extsort, "RUN_SIZE", 2)
    database = tmp_path / "database"
    (database / PROTOCOLS).mkdir(parents=True)
    (database / "segment_labels").mkdir()
    lines, labels = [], {}
    for i in range(9):
        name = f"CON_T_{i:07d}"
        write_audio(database / "train" / "con_wav" / f"{name}.wav", 0.05, 8000, i)
        lines.append(f"LA_{i % 3:04d} {name} - - {'spoof' if i % 2 else 'bonafide'}")
        if i != 4:  # one file without labels
            labels[name] = np.array([1, 0] if i % 2 else [1, 1]) if i != 6 else np.array([0])
    (database / PROTOCOLS / "PartialSpoof.LA.cm.train.trl.txt").write_text("\n".join(lines))
    np.save(database / "segment_labels" / "train_seglab_0.16.npy", np.array(labels, dtype=object))
    manifest = tmp_path / "out" / "manifest.csv"
    build_manifest(manifest, DatasetConfig("partialspoof", str(database)), hash_files=False)
    rows = list(iter_manifest(manifest))
    table = list(iter_segments(manifest))
    assert [s.row for s in table] == sorted(s.row for s in table)
    assert all(rows[s.row].path == s.path for s in table)
    by_name = {Path(s.path).stem: s.labels for s in table}
    assert len(by_name) == 8 and "CON_T_0000004" not in by_name
    assert by_name["CON_T_0000001"] == "01" and by_name["CON_T_0000002"] == "00"
    assert list(iter_segments(manifest, 3, 5)) == [s for s in table if 3 <= s.row < 5]
    assert "1 file(s) of corpora with segment labels have none" in caplog.text
    assert "1 file(s) whose segment labels disagree" in caplog.text  # CON_T_0000006
    # A run without segment labels leaves no table behind.
    (tmp_path / "for" / "training" / "real").mkdir(parents=True)
    write_audio(tmp_path / "for" / "training" / "real" / "a.wav", 0.05, 8000)
    build_manifest(manifest, DatasetConfig("for", str(tmp_path / "for")), hash_files=False)
    assert not (manifest.parent / "segments.csv").exists()
