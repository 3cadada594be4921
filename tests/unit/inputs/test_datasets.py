"""Each dataset layout, built small from its published format, becomes the same manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import collect_rows, write_audio

from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.datasets.in_the_wild import assign_speakers
from fraudprep.inputs.integrity import read_leak_summary
from fraudprep.inputs.manifest import ManifestError, iter_manifest
from fraudprep.inputs.manifest_build import LeakageError, build_manifest


def flac(path: Path, seed: int = 0) -> None:
    write_audio(path, seconds=0.3, seed=seed, fmt="FLAC")


def asvspoof2019_la(root: Path) -> Path:
    protocols = root / "ASVspoof2019_LA_cm_protocols"
    protocols.mkdir(parents=True)
    lines = {
        "train.trn": ["LA_0079 LA_T_1138215 - - bonafide", "LA_0079 LA_T_1271820 - A01 spoof"],
        "dev.trl": ["LA_0069 LA_D_1047731 - - bonafide", "LA_0070 LA_D_1105538 - A02 spoof"],
        "eval.trl": ["LA_0039 LA_E_2834763 - A11 spoof", "LA_0014 LA_E_8877452 - - bonafide"],
    }
    for seed, (suffix, entries) in enumerate(lines.items()):
        (protocols / f"ASVspoof2019.LA.cm.{suffix}.txt").write_text("\n".join(entries) + "\n")
        part = suffix.split(".")[0]
        for i, line in enumerate(entries):
            flac(
                root / f"ASVspoof2019_LA_{part}" / "flac" / f"{line.split()[1]}.flac", seed * 9 + i
            )
    return root


def test_asvspoof2019_la(tmp_path: Path):
    rows = collect_rows(DatasetConfig("asvspoof2019", str(asvspoof2019_la(tmp_path / "LA"))))
    summary = [(Path(r.path).name, r.split, r.label, r.speaker, r.attack) for r in rows]
    assert summary == [
        ("LA_T_1138215.flac", "training", 0, "LA_0079", "-"),
        ("LA_T_1271820.flac", "training", 1, "LA_0079", "A01"),
        ("LA_D_1047731.flac", "validation", 0, "LA_0069", "-"),
        ("LA_D_1105538.flac", "validation", 1, "LA_0070", "A02"),
        ("LA_E_2834763.flac", "testing", 1, "LA_0039", "A11"),
        ("LA_E_8877452.flac", "testing", 0, "LA_0014", "-"),
    ]
    assert {r.source for r in rows} == {"asvspoof2019"}


def test_asvspoof2019_pa_attack_is_the_field_before_the_key(tmp_path: Path):
    root = tmp_path / "PA"
    protocols = root / "ASVspoof2019_PA_cm_protocols"
    protocols.mkdir(parents=True)
    (protocols / "ASVspoof2019.PA.cm.train.trn.txt").write_text(
        "PA_0079 PA_T_0000001 aaa - bonafide\nPA_0079 PA_T_0000002 aaa AB spoof\n"
    )
    for name in ("PA_T_0000001", "PA_T_0000002"):
        flac(root / "ASVspoof2019_PA_train" / "flac" / f"{name}.flac")
    rows = collect_rows(DatasetConfig("asvspoof2019", str(root)))
    assert [(r.label, r.attack) for r in rows] == [(0, "-"), (1, "AB")]


def test_protocol_problems_name_file_and_line(tmp_path: Path):
    root = asvspoof2019_la(tmp_path / "LA")
    protocol = root / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.dev.trl.txt"
    protocol.write_text(protocol.read_text() + "garbage line\nLA_0001 LA_D_0000000 - - bonafide\n")
    with pytest.raises(ManifestError) as error:
        collect_rows(DatasetConfig("asvspoof2019", str(root)))
    message = str(error.value)
    assert f"{protocol}:3: cannot parse 'garbage line'" in message
    assert f"{protocol}:4: audio file" in message and "LA_D_0000000.flac" in message


def test_asvspoof2021_df_is_all_testing(tmp_path: Path):
    root = tmp_path / "2021"
    keys = root / "keys" / "DF" / "CM"
    keys.mkdir(parents=True)
    (keys / "trial_metadata.txt").write_text(
        "LA_0043 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder"
        " - - - -\nLA_0023 DF_E_2000013 low_mp3 vcc2020 - bonafide notrim eval - - - - -\n"
    )
    for name in ("DF_E_2000011", "DF_E_2000013"):
        flac(root / "ASVspoof2021_DF_eval" / "flac" / f"{name}.flac")
    rows = collect_rows(DatasetConfig("asvspoof2021", str(root)))
    assert [(r.split, r.label, r.attack) for r in rows] == [
        ("testing", 1, "A14"),
        ("testing", 0, "-"),
    ]


def test_asvspoof5_tsv_protocols(tmp_path: Path):
    root = tmp_path / "asv5"
    root.mkdir()
    (root / "ASVspoof5.train.tsv").write_text(
        "T_4850 T_0000000000 F - - - AC3 A05 spoof -\nT_1138 T_0000000001 M - - - - - bonafide -\n"
    )
    (root / "ASVspoof5.dev.track_1.tsv").write_text("D_0062 D_0000000001 F - - - AC1 A11 spoof -\n")
    for letter, names in {"T": ["T_0000000000", "T_0000000001"], "D": ["D_0000000001"]}.items():
        for name in names:
            flac(root / f"flac_{letter}" / f"{name}.flac")
    rows = collect_rows(DatasetConfig("asvspoof5", str(root)))
    assert [(Path(r.path).name, r.split, r.label, r.attack) for r in rows] == [
        ("T_0000000000.flac", "training", 1, "A05"),
        ("T_0000000001.flac", "training", 0, "-"),
        ("D_0000000001.flac", "validation", 1, "A11"),
    ]


def test_in_the_wild_splits_by_speaker(tmp_path: Path):
    root = tmp_path / "itw"
    lines = ["file,speaker,label"]
    for i in range(40):
        speaker = f"Speaker {i % 10}"
        write_audio(root / f"{i}.wav", seconds=0.2, seed=i)
        lines.append(f"{i}.wav,{speaker},{'bona-fide' if i % 2 else 'spoof'}")
    (root / "meta.csv").write_text("\n".join(lines) + "\n")
    rows = collect_rows(DatasetConfig("itw", str(root)))
    assert len(rows) == 40
    splits_of = {}
    for row in rows:
        splits_of.setdefault(row.speaker, set()).add(row.split)
    assert all(len(s) == 1 for s in splits_of.values())  # no speaker in two splits
    per_split = {s: sum(r.split == s for r in rows) for s in ("training", "validation", "testing")}
    # 10 speakers of 4 files; shares 0.7/0.15/0.15 of 40 files, in whole speakers.
    assert per_split["training"] == 28
    assert sorted([per_split["validation"], per_split["testing"]]) == [4, 8]
    assert rows == collect_rows(DatasetConfig("itw", str(root)))  # deterministic


def test_speaker_assignment_balances_and_ignores_order():
    counts = {f"s{i}": 10 for i in range(20)}
    shares = {"training": 0.7, "validation": 0.15, "testing": 0.15}
    assigned = assign_speakers(counts, shares)
    files = {split: 10 * list(assigned.values()).count(split) for split in shares}
    assert files == {"training": 140, "validation": 30, "testing": 30}
    assert assign_speakers(dict(reversed(list(counts.items()))), shares) == assigned


def test_generic_tsv_with_column_names_and_label_map(tmp_path: Path):
    write_audio(tmp_path / "a.wav")
    write_audio(tmp_path / "b.wav", seed=1)
    (tmp_path / "list.tsv").write_text(
        "filename\tsubset\tclass\tvoice\nb.wav\tdev\ttts\tv2\na.wav\ttrain\thuman\tv1\n"
    )
    cfg = DatasetConfig(
        "csv", listing=str(tmp_path / "list.tsv"),
        csv_columns={"path": "filename", "split": "subset", "label": "class", "speaker": "voice"},
        label_map={"human": "real", "tts": "fake"},
    )  # fmt: skip
    rows = collect_rows(cfg)
    assert [(Path(r.path).name, r.split, r.label, r.speaker) for r in rows] == [
        ("a.wav", "training", 0, "v1"),
        ("b.wav", "validation", 1, "v2"),
    ]


@pytest.fixture
def leaky_tree(for_tree: Path) -> Path:
    # Plant a copy of a training file in testing: the classic train/test leak.
    shutil.copy(for_tree / "training/real/spk1 clip1.wav", for_tree / "testing/real/copy.wav")
    shutil.copy(for_tree / "training/fake/tts_1.wav", for_tree / "training/real/relabelled.wav")
    return for_tree


def test_leakage_is_found_and_reported(leaky_tree: Path, tmp_path: Path):
    build_manifest(tmp_path / "m.csv", DatasetConfig(input_dir=str(leaky_tree)),
                   leakage_path=tmp_path / "leakage.csv")  # fmt: skip
    assert read_leak_summary(tmp_path / "leakage.csv") == {
        "split_leaks": 1,
        "label_conflicts": 1,
        "files_involved": 4,
    }
    table = (tmp_path / "leakage.csv").read_text()
    assert "split" in table and "testing/real/copy.wav" in table
    assert all(row.hash for row in iter_manifest(tmp_path / "m.csv"))


def test_fail_on_leakage_stops_the_run(leaky_tree: Path, tmp_path: Path, caplog):
    """One line to stop on; which files leak is in the log (and in the kept table, below)."""
    with pytest.raises(LeakageError, match=r"^2 group\(s\) of identical audio cross splits"):
        build_manifest(tmp_path / "m.csv", DatasetConfig(input_dir=str(leaky_tree)),
                       fail_on_leakage=True)  # fmt: skip
    assert not (tmp_path / "m.csv").exists()
    assert "identical audio in several splits" in caplog.text
