from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path

import pytest
from helpers import read_manifest_csv, write_audio

from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.datasets.folder import scan_for_tree
from fraudprep.inputs.manifest import ManifestError, iter_manifest, natural_key
from fraudprep.inputs.manifest_build import build_manifest


def test_natural_order_puts_clip2_before_clip10():
    names = ["clip10.wav", "clip2.wav", "Clip1.wav", "clip1.wav"]
    assert sorted(names, key=natural_key) == ["Clip1.wav", "clip1.wav", "clip2.wav", "clip10.wav"]


def test_scan_takes_split_and_label_from_directories(for_tree: Path):
    rows = scan_for_tree(for_tree)
    assert len(rows) == 11
    assert [r.split for r in rows] == ["training"] * 6 + ["validation"] * 2 + ["testing"] * 3
    by_name = {Path(r.path).name: r for r in rows}
    # Labels come from the directory, never from names: "v_fake_1" sits in fake/, "real" in real/.
    assert by_name["spk1_clip2.WAV"].label == 0
    assert by_name["tts_2.flac"].label == 1
    assert by_name["spk1 clip1.wav"].size > 0
    training_real = [Path(r.path).name for r in rows if r.split == "training" and r.label == 0]
    assert training_real == ["spk1 clip1.wav", "spk1_clip2.WAV", "spk1_clip10.flac"]


def test_scan_is_case_insensitive_and_reports_odd_entries(tmp_path: Path, caplog):
    write_audio(tmp_path / "Training" / "REAL" / "a.Mp3.wav")
    write_audio(tmp_path / "Training" / "REAL" / "b.FLAC", fmt="FLAC")
    (tmp_path / "Training" / "REAL" / "notes.txt").write_text("not audio")
    (tmp_path / "Training" / "REAL" / "folder.wav").mkdir()
    rows = scan_for_tree(tmp_path)
    names = [Path(r.path).name for r in rows]
    assert names == ["a.Mp3.wav", "b.FLAC", "folder.wav"]
    assert rows[2].size == -1  # kept, so that extraction reports it instead of dropping it
    assert "Skipped 1 file(s) without an audio extension" in caplog.text


def test_scan_of_missing_dir_says_what_to_do(tmp_path: Path):
    with pytest.raises(ManifestError, match=r"does not exist.*training\|validation\|testing"):
        scan_for_tree(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="No audio files found"):
        scan_for_tree(tmp_path / "empty")


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_manifest_resolves_relative_paths_and_aliases(tmp_path: Path):
    write_audio(tmp_path / "audio" / "x1.wav")
    write_audio(tmp_path / "audio" / "x2.wav")
    manifest = write_csv(
        tmp_path / "m.csv",
        [
            {"path": "audio/x2.wav", "split": "test", "label": "spoof", "speaker": "s1"},
            {"path": "audio/x1.wav", "split": "train", "label": "bonafide", "speaker": "s2"},
        ],
    )
    rows = read_manifest_csv(manifest)
    assert [(Path(r.path).name, r.split, r.label) for r in rows] == [
        ("x1.wav", "training", 0),
        ("x2.wav", "testing", 1),
    ]
    assert Path(rows[0].path) == tmp_path / "audio" / "x1.wav"


def test_csv_manifest_saved_with_a_byte_order_mark_reads_as_without(tmp_path: Path):
    """Excel's "CSV UTF-8" starts the file with a BOM, which used to hide the path column."""
    write_audio(tmp_path / "a.wav")
    manifest = tmp_path / "excel.csv"
    manifest.write_bytes(b"\xef\xbb\xbfpath,split,label\r\na.wav,train,real\r\n")
    (row,) = read_manifest_csv(manifest)
    assert (Path(row.path).name, row.split, row.label) == ("a.wav", "training", 0)


def test_csv_manifest_lists_every_problem_with_line_numbers(tmp_path: Path):
    write_audio(tmp_path / "a.wav")
    manifest = write_csv(
        tmp_path / "m.csv",
        [
            {"path": "a.wav", "split": "training", "label": "real"},
            {"path": "a.wav", "split": "training", "label": "real"},
            {"path": "missing.wav", "split": "training", "label": "fake"},
            {"path": "a.wav", "split": "holdout", "label": "maybe"},
        ],
    )
    with pytest.raises(ManifestError) as error:
        read_manifest_csv(manifest)
    message = str(error.value)
    assert "line 3: duplicate path 'a.wav' (first on line 2)" in message
    assert "line 4:" in message and "does not exist" in message
    assert "line 5: unknown split 'holdout'" in message
    assert "line 5: unknown label 'maybe'" in message


def test_csv_manifest_needs_its_columns(tmp_path: Path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,label\na.wav,real\n")
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['path', 'split'\]"):
        read_manifest_csv(manifest)


def test_written_manifest_streams_back_by_row_range(for_tree: Path, tmp_path: Path):
    out = tmp_path / "manifest.csv"
    assert build_manifest(out, DatasetConfig(input_dir=str(for_tree))) == 11
    everything = list(iter_manifest(out))
    assert list(iter_manifest(out, 3, 5)) == everything[3:5]
    assert [row._replace(hash="") for row in everything] == scan_for_tree(for_tree)
    # What `sha256sum` prints, so users can check a file against its row.
    assert [row.hash for row in everything] == [
        hashlib.sha256(Path(row.path).read_bytes()).hexdigest() for row in everything
    ]


def test_hashing_shows_progress_to_the_last_file(for_tree: Path, tmp_path: Path, caplog):
    with caplog.at_level(logging.INFO):
        build_manifest(tmp_path / "manifest.csv", DatasetConfig(input_dir=str(for_tree)))
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("manifest: ")]
    assert progress and progress[-1].startswith("manifest: hashing: file 11 of 11, ")
