"""The corpus readers of issue 25 item 2: each builds a small tree in the corpus's released
layout and checks every row's split, label, attack and speaker against what was planted."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import collect_rows, write_audio

from fraudprep.cli.errors import one_line
from fraudprep.inputs.datasets import DatasetConfig, iter_rows
from fraudprep.inputs.manifest import ManifestError


def reader_config(dataset: str, input_dir: str, **options) -> DatasetConfig:
    """The reader's config as the workflow builds it from the config's keys."""
    return DatasetConfig.from_config({"dataset": dataset, "input_dir": input_dir, **options})


def wav(path: Path, seed: int = 0) -> Path:
    return write_audio(path, seconds=0.1, rate=8000, seed=seed)


def flac(path: Path, seed: int = 0) -> Path:
    return write_audio(path, seconds=0.1, rate=8000, seed=seed, fmt="FLAC")


def plant(root: Path, files: dict[str, tuple], writer=wav) -> dict[str, tuple]:
    """Write each relative path's audio; return {absolute path: expected fields}."""
    for seed, relative in enumerate(files):
        writer(root / relative, seed)
    return {str(root / relative): fields for relative, fields in files.items()}


def summary(rows) -> dict[str, tuple]:
    """{path: (split, label, attack, speaker)}, checking that no path is read twice."""
    found = {row.path: (row.split, row.label, row.attack, row.speaker) for row in rows}
    assert len(found) == len(rows)
    return found


def read_twice(cfg) -> list:
    """The rows, checking that the reader yields them in the same order every time."""
    first, second = list(iter_rows(cfg)), list(iter_rows(cfg))
    assert first == second
    return first


# --- pattern -------------------------------------------------------------------------------


def test_pattern_reads_split_label_attack_in_any_order(tmp_path: Path):
    root = tmp_path / "corpus"
    planted = plant(
        root,
        {
            "bonafide/train/spk1/a.wav": ("training", 0, "-", "spk1"),
            "bonafide/dev/spk2/b.WAV": ("validation", 0, "-", "spk2"),
            "spoof/train/spk1/c.wav": ("training", 1, "", "spk1"),
            "spoof/eval/spk3/d.flac": ("testing", 1, "", "spk3"),
            "Fake/Test/spk3/e.wav": ("testing", 1, "", "spk3"),
        },
    )
    (root / "bonafide" / "train" / "spk1" / "notes.txt").write_text("not audio")
    cfg = reader_config("pattern", str(root), path_pattern="{label}/{split}/{speaker}/*")
    rows = read_twice(cfg)
    assert summary(rows) == planted
    assert {row.source for row in rows} == {"pattern"}


def test_pattern_attack_folder_and_skipped_files(tmp_path: Path):
    root = tmp_path / "corpus"
    planted = plant(
        root,
        {
            "train/real/x/r1.wav": ("training", 0, "-", ""),
            "train/fake/A01/f1.wav": ("training", 1, "A01", ""),
            "test/fake/A02/f2.wav": ("testing", 1, "A02", ""),
            "valid/real/x/r2.wav": ("validation", 0, "-", ""),
        },
    )
    wav(root / "train" / "fake" / "loose.wav")  # not at the pattern's depth: not read
    (root / "train" / "fake" / "A01" / "meta.txt").write_text("x")
    skipped = []
    cfg = reader_config("pattern", str(root), path_pattern="{split}/{label}/{attack}/*")
    rows = list(iter_rows(cfg, on_skipped=skipped.append))
    assert summary(rows) == planted
    assert [(Path(s.path).name, s.split, s.label) for s in skipped] == [("meta.txt", "training", 1)]


def test_pattern_default_is_split_label_any_depth(tmp_path: Path):
    root = tmp_path / "corpus"
    planted = plant(
        root,
        {"training/real/deep/er/a.wav": ("training", 0, "-", ""),
         "testing/fake/b.wav": ("testing", 1, "", "")},
    )  # fmt: skip
    assert summary(collect_rows(DatasetConfig("pattern", str(root)))) == planted


def test_pattern_without_split_splits_speakers(tmp_path: Path):
    root = tmp_path / "corpus"
    files = {f"{label}/spk{s}_{i}.wav": (label, f"spk{s}")
             for label in ("real", "fake") for s in range(6) for i in range(2)}  # fmt: skip
    plant(root, files)
    cfg = reader_config("pattern", str(root), path_pattern="{label}/{speaker}_*.wav")
    rows = read_twice(cfg)
    assert len(rows) == 24
    split_of = {}
    for row in rows:
        label, speaker = files[str(Path(row.path).relative_to(root))]
        assert (row.label, row.speaker) == ({"real": 0, "fake": 1}[label], speaker)
        assert split_of.setdefault(row.speaker, row.split) == row.split  # a speaker, one split
    assert set(split_of.values()) == {"training", "validation", "testing"}


def test_pattern_unknown_label_is_one_line_naming_the_file(tmp_path: Path):
    root = tmp_path / "corpus"
    wav(root / "train" / "real" / "a.wav")
    bad = wav(root / "train" / "human" / "b.wav")
    cfg = reader_config("pattern", str(root), path_pattern="{split}/{label}/*.wav")
    with pytest.raises(ManifestError) as error:
        list(iter_rows(cfg))
    lines = [line for line in str(error.value).splitlines() if str(bad) in line]
    assert len(lines) == 1 and "unknown label 'human'" in lines[0] and "label_map" in lines[0]
    mapped = reader_config(
        "pattern", str(root), label_map={"human": "real"}, path_pattern="{split}/{label}/*.wav"
    )
    assert {row.label for row in collect_rows(mapped)} == {0}


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{split}/{kind}/*", "unknown field {kind}"),
        ("{split}/*.wav", "has no {label}"),
        ("{label}/*.wav", "neither {split} nor {speaker}"),
        ("{label}/{split}/{label}/*", "{label} appears twice"),
    ],
)
def test_pattern_mistakes_are_config_errors(tmp_path: Path, pattern: str, message: str):
    wav(tmp_path / "train" / "real" / "a.wav")
    with pytest.raises(ManifestError, match=message.replace("{", r"\{").replace("}", r"\}")):
        list(iter_rows(reader_config("pattern", str(tmp_path), path_pattern=pattern)))


# --- M-AILABS and MLAAD --------------------------------------------------------------------

MAILABS_FILES = [  # (path below the language folder, speaker, split group)
    ("by_book/female/judy_bieber/dorothy/wavs/dorothy_01_f000001.wav", "judy_bieber"),
    ("by_book/female/judy_bieber/ozma/wavs/ozma_01_f000002.wav", "judy_bieber"),
    ("by_book/female/mary_ann/northandsouth/wavs/northandsouth_01_f000001.wav", "mary_ann"),
    ("by_book/male/elliot_miller/pink_fairy/wavs/pink_fairy_01_f000001.wav", "elliot_miller"),
    ("by_book/male/elliot_miller/pink_fairy/wavs/pink_fairy_01_f000002.wav", "elliot_miller"),
    ("by_book/mix/sherlock/wavs/sherlock_01_f000001.wav", ""),
]


def mailabs_tree(root: Path) -> dict[str, str]:
    """An en_US M-AILABS folder; returns {path: speaker}."""
    planted = {}
    for seed, (relative, speaker) in enumerate(MAILABS_FILES):
        path = wav(root / "en_US" / relative, seed)
        (path.parent.parent / "metadata.csv").write_text("x|text|text\n")
        planted[str(path)] = speaker
    return planted


def check_speaker_splits(rows) -> None:
    split_of = {}
    for row in rows:
        group = row.speaker or Path(row.path).parts[-3]  # a mix book counts as one speaker
        assert split_of.setdefault(group, row.split) == row.split


def test_mailabs_all_real_split_by_speaker(tmp_path: Path):
    planted = mailabs_tree(tmp_path / "mailabs")
    for cfg_root in (tmp_path / "mailabs", tmp_path / "mailabs" / "en_US"):  # both are taken
        rows = read_twice(DatasetConfig("mailabs", str(cfg_root)))
        assert {row.path: row.speaker for row in rows} == planted
        assert {(row.label, row.attack, row.source) for row in rows} == {(0, "-", "mailabs")}
        check_speaker_splits(rows)
        assert len({row.split for row in rows}) > 1


def test_mailabs_file_outside_the_layout_is_named(tmp_path: Path):
    mailabs_tree(tmp_path / "m")
    stray = wav(tmp_path / "m" / "en_US" / "by_book" / "female" / "judy_bieber" / "x.wav")
    with pytest.raises(ManifestError, match=f"{stray}: not where M-AILABS keeps audio"):
        list(iter_rows(DatasetConfig("mailabs", str(tmp_path / "m"))))


def mlaad_tree(root: Path) -> dict[str, tuple]:
    systems = {"tts_models_en_ljspeech_vits": ("en",),
               "tts_models_de_thorsten_vits": ("de",),
               "tts_models_multilingual_multi-dataset_xtts_v2": ("en", "de", "fr"),
               "griffin_lim": ("it",)}  # fmt: skip
    planted = {}
    for system, languages in systems.items():
        for language in languages:
            folder = root / "fake" / language / system
            for i in range(2):
                path = wav(folder / f"{language}_{system}_{i}.wav", i)
                planted[str(path)] = (1, system, "")
            (folder / "meta.csv").write_text("path|original_file|language\n")
    return planted


def test_mlaad_fakes_split_by_system(tmp_path: Path):
    planted = mlaad_tree(tmp_path / "MLAAD")
    rows = read_twice(DatasetConfig("mlaad", str(tmp_path / "MLAAD")))
    assert {row.path: (row.label, row.attack, row.speaker) for row in rows} == planted
    split_of = {}
    for row in rows:
        assert split_of.setdefault(row.attack, row.split) == row.split  # one system, one split
    assert len(set(split_of.values())) > 1


def test_mlaad_with_mailabs_as_bona_fide(tmp_path: Path):
    fakes = mlaad_tree(tmp_path / "MLAAD")
    reals = mailabs_tree(tmp_path / "M-AILABS")
    cfg = reader_config("mlaad", str(tmp_path / "MLAAD"), bona_fide="../M-AILABS")
    rows = read_twice(cfg)
    expected = {**fakes, **{path: (0, "-", speaker) for path, speaker in reals.items()}}
    assert {row.path: (row.label, row.attack, row.speaker) for row in rows} == {
        str(Path(path)): fields for path, fields in expected.items()
    }
    check_speaker_splits([row for row in rows if row.label == 0])
    missing = reader_config("mlaad", str(tmp_path / "MLAAD"), bona_fide="nowhere")
    with pytest.raises(ManifestError, match="bona_fide 'nowhere' is not a folder"):
        list(iter_rows(missing))


def test_mlaad_file_at_the_wrong_depth_is_named(tmp_path: Path):
    mlaad_tree(tmp_path / "MLAAD")
    stray = wav(tmp_path / "MLAAD" / "fake" / "en" / "loose.wav")
    with pytest.raises(ManifestError, match=f"{stray}: not in fake/<language>/<system>/"):
        list(iter_rows(DatasetConfig("mlaad", str(tmp_path / "MLAAD"))))


def test_mlaad_fake_folder_in_another_case_is_read(tmp_path: Path):
    planted = mlaad_tree(tmp_path / "MLAAD")
    other = wav(tmp_path / "MLAAD" / "Fake" / "pl" / "tts_models_pl_vits" / "0.wav")
    rows = read_twice(DatasetConfig("mlaad", str(tmp_path / "MLAAD")))
    planted[str(other)] = (1, "tts_models_pl_vits", "")
    assert {row.path: (row.label, row.attack, row.speaker) for row in rows} == planted


# --- SpoofCeleb ----------------------------------------------------------------------------

SPOOFCELEB = {  # part -> [(file below flac/<part>/, speaker, attack)]
    "train": [("a00/id10001/aaa-00001-001.flac", "id10001", "a00"),
              ("a01/id10001/aaa-00001-001.flac", "id10001", "a01"),
              ("a05/id10002/bbb-00002-001.flac", "id10002", "a05")],
    "development": [("a00/id10003/ccc-00001-001.flac", "id10003", "a00"),
                    ("a11/id10003/ccc-00001-002.flac", "id10003", "a11")],
    "evaluation": [("a17/id10004/ddd-00001-001.flac", "id10004", "a17"),
                   ("a00/id10004/ddd-00003-001.flac", "id10004", "a00")],
}  # fmt: skip


def spoofceleb_tree(root: Path) -> dict[str, tuple]:
    planted = {}
    split = {"train": "training", "development": "validation", "evaluation": "testing"}
    (root / "metadata").mkdir(parents=True)
    for part, entries in SPOOFCELEB.items():
        lines = ["file,speaker,attack"]
        for seed, (name, speaker, attack) in enumerate(entries):
            path = flac(root / "flac" / part / name, seed)
            lines.append(f"{name},{speaker},{attack}")
            real = attack == "a00"
            planted[str(path)] = (split[part], int(not real), "-" if real else attack, speaker)
        (root / "metadata" / f"{part}.csv").write_text("\n".join(lines) + "\n")
    return planted


def test_spoofceleb(tmp_path: Path):
    planted = spoofceleb_tree(tmp_path / "spoofceleb")
    rows = read_twice(DatasetConfig("spoofceleb", str(tmp_path / "spoofceleb")))
    assert summary(rows) == planted
    assert [row.split for row in rows] == ["training"] * 3 + ["validation"] * 2 + ["testing"] * 2


def test_spoofceleb_unknown_attack_and_missing_file_are_named(tmp_path: Path):
    root = tmp_path / "spoofceleb"
    spoofceleb_tree(root)
    meta = root / "metadata" / "development.csv"
    flac(root / "flac" / "development" / "b07" / "id1" / "x.flac")
    meta.write_text(meta.read_text() + "b07/id1/x.flac,id1,b07\na11/id1/gone.flac,id1,a11\n")
    with pytest.raises(ManifestError) as error:
        list(iter_rows(DatasetConfig("spoofceleb", str(root))))
    message = str(error.value)
    assert f"{meta}:4: unknown attack id 'b07'" in message
    assert f"{meta}:5: audio file" in message and "gone.flac" in message


# --- Codecfake -----------------------------------------------------------------------------

CODECFAKE = {  # label file stem -> [(name as listed, label, id)]
    "train": [("SSB00050001.wav", "real", "0"), ("F01_SSB00050001.wav", "fake", "1"),
              ("F02_SSB00050002", "fake", "2")],
    "dev": [("SSB00060001.wav", "real", "0"), ("F03_SSB00060001.wav", "fake", "3")],
    "C1": [("C1_p225_001.wav", "fake", "C1"), ("p225_001.wav", "real", "0")],
    "A3": [("A3_p226_001.wav", "fake", "A3")],
}  # fmt: skip


def codecfake_tree(root: Path) -> dict[str, tuple]:
    planted = {}
    (root / "label").mkdir(parents=True)
    for stem, entries in CODECFAKE.items():
        folder = root / stem if stem in ("train", "dev") else root / "test" / stem
        split = {"train": "training", "dev": "validation"}.get(stem, "testing")
        for seed, (name, label, ident) in enumerate(entries):
            path = wav(folder / (name if name.endswith(".wav") else name + ".wav"), seed)
            real = label == "real"
            planted[str(path)] = (split, int(not real), "-" if real else ident, "")
        text = "".join(f"{name} {label} {ident}\n" for name, label, ident in entries)
        (root / "label" / f"{stem}.txt").write_text(text)
    return planted


def test_codecfake(tmp_path: Path):
    planted = codecfake_tree(tmp_path / "Codecfake")
    rows = read_twice(DatasetConfig("codecfake", str(tmp_path / "Codecfake")))
    assert summary(rows) == planted
    assert [row.split for row in rows][:5] == ["training"] * 3 + ["validation"] * 2


def test_codecfake_unknown_label_is_named(tmp_path: Path):
    root = tmp_path / "Codecfake"
    codecfake_tree(root)
    label_file = root / "label" / "dev.txt"
    wav(root / "dev" / "odd.wav")
    label_file.write_text(label_file.read_text() + "odd.wav maybe 9\n")
    with pytest.raises(ManifestError, match=f"{label_file}:3: unknown label 'maybe'"):
        list(iter_rows(DatasetConfig("codecfake", str(root))))


def test_codecfake_unlabelled_and_unlisted_audio_is_counted_in_a_warning(tmp_path: Path, caplog):
    root = tmp_path / "Codecfake"
    planted = codecfake_tree(root)
    for i in range(3):
        wav(root / "test" / "C9" / f"C9_{i}.wav", i)  # no label/C9.txt
    wav(root / "dev" / "stray1.wav")
    wav(root / "dev" / "stray2.wav")  # not in label/dev.txt
    with caplog.at_level("WARNING"):
        rows = list(iter_rows(DatasetConfig("codecfake", str(root))))
    assert summary(rows) == planted
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert (
        f"Codecfake {root / 'dev'}: 2 audio file(s) not listed in {root / 'label' / 'dev.txt'}, "
        "not read" in warnings
    )
    assert (
        f"Codecfake {root / 'test' / 'C9'}: 3 audio file(s) and no label/C9.txt to list them, "
        "not read" in warnings
    )
    assert len(warnings) == 2


def test_listed_problems_make_one_clean_console_line(tmp_path: Path):
    root = tmp_path / "Codecfake"
    codecfake_tree(root)
    label_file = root / "label" / "dev.txt"
    label_file.write_text(label_file.read_text() + "a.wav maybe 9\nb.wav perhaps 9\n")
    with pytest.raises(ManifestError) as error:
        list(iter_rows(DatasetConfig("codecfake", str(root))))
    line = one_line(error.value)
    assert f"2 problem(s); {label_file}:3: unknown label 'maybe'" in line
    assert ":;" not in line


# --- PartialSpoof --------------------------------------------------------------------------

PARTIALSPOOF = {  # part -> protocol lines
    "train": ["LA_0079 LA_T_1138215 - - bonafide", "LA_0079 CON_T_0000000 - - spoof"],
    "dev": ["LA_0069 CON_D_0000001 - - spoof", "LA_0069 LA_D_1047731 - - bonafide"],
    "eval": ["LA_0039 CON_E_0000002 - - spoof"],
}


def partialspoof_tree(database: Path) -> dict[str, tuple]:
    planted = {}
    protocols = database / "protocols" / "PartialSpoof_LA_cm_protocols"
    protocols.mkdir(parents=True)
    split = {"train": "training", "dev": "validation", "eval": "testing"}
    for part, lines in PARTIALSPOOF.items():
        for seed, line in enumerate(lines):
            speaker, name, _, attack, key = line.split()
            path = wav(database / part / "con_wav" / f"{name}.wav", seed)
            # The release writes "-" as every spoof's system: the row's attack is "unknown".
            attack = "unknown" if key == "spoof" and attack == "-" else attack
            planted[str(path)] = (split[part], int(key == "spoof"), attack, speaker)
        (protocols / f"PartialSpoof.LA.cm.{part}.trl.txt").write_text("\n".join(lines) + "\n")
    (database / "segment_labels").mkdir()
    return planted


def test_partialspoof_utterance_labels(tmp_path: Path):
    planted = partialspoof_tree(tmp_path / "PartialSpoof" / "database")
    for root in (tmp_path / "PartialSpoof", tmp_path / "PartialSpoof" / "database"):
        rows = read_twice(DatasetConfig("partialspoof", str(root)))
        assert summary(rows) == planted


def test_partialspoof_spoof_rows_do_not_get_the_bona_fide_attack(tmp_path: Path):
    partialspoof_tree(tmp_path / "database")
    rows = list(iter_rows(DatasetConfig("partialspoof", str(tmp_path / "database"))))
    assert {row.attack for row in rows if row.label == 1} == {"unknown"}
    assert {row.attack for row in rows if row.label == 0} == {"-"}


def test_partialspoof_bad_key_is_named(tmp_path: Path):
    database = tmp_path / "database"
    partialspoof_tree(database)
    protocol = database / "protocols/PartialSpoof_LA_cm_protocols/PartialSpoof.LA.cm.eval.trl.txt"
    protocol.write_text(protocol.read_text() + "LA_0039 CON_E_0000003 - - partial\n")
    with pytest.raises(ManifestError, match=f"{protocol}:2: cannot parse"):
        list(iter_rows(DatasetConfig("partialspoof", str(database))))


# --- WaveFake ------------------------------------------------------------------------------

WAVEFAKE_VOCODERS = {"ljspeech_melgan": "LJ", "ljspeech_hifiGAN": "LJ",
                     "jsut_multi_band_melgan": "JSUT"}  # fmt: skip
LJ_UTTERANCES = [f"LJ001-{i:04d}" for i in range(1, 7)]
JSUT_UTTERANCES = [f"BASIC5000_{i:04d}" for i in range(1, 4)]


def wavefake_tree(root: Path) -> dict[str, tuple]:
    planted = {}
    for vocoder, corpus in WAVEFAKE_VOCODERS.items():
        for utt in LJ_UTTERANCES if corpus == "LJ" else JSUT_UTTERANCES:
            path = wav(root / "generated_audio" / vocoder / f"{utt}_gen.wav")
            planted[str(path)] = (1, vocoder, utt)
    for utt in LJ_UTTERANCES:
        planted[str(wav(root / "LJSpeech-1.1" / "wavs" / f"{utt}.wav"))] = (0, "-", utt)
    for utt in JSUT_UTTERANCES:
        planted[str(wav(root / "jsut_ver1.1" / "basic5000" / "wav" / f"{utt}.wav"))] = (0, "-", utt)
    (root / "LJSpeech-1.1" / "metadata.csv").write_text("LJ001-0001|text|text\n")
    return planted


def test_wavefake_split_by_utterance_with_its_copies(tmp_path: Path):
    root = tmp_path / "wavefake"
    planted = wavefake_tree(root)
    cfg = reader_config("wavefake", str(root), bona_fide=["LJSpeech-1.1", "jsut_ver1.1"])
    rows = read_twice(cfg)
    assert {row.path: (row.label, row.attack, Path(row.path).stem.removesuffix("_gen"))
            for row in rows} == planted  # fmt: skip
    assert {row.speaker for row in rows} == {""}
    split_of = {}
    for row in rows:
        utt = planted[row.path][2]
        assert split_of.setdefault(utt, row.split) == row.split  # a text and its copies together
    assert set(split_of.values()) == {"training", "validation", "testing"}
    fakes_only = read_twice(DatasetConfig("wavefake", str(root)))
    assert {row.label for row in fakes_only} == {1} and len(fakes_only) == 15


def test_wavefake_file_outside_a_vocoder_folder_is_named(tmp_path: Path):
    wavefake_tree(tmp_path / "w")
    stray = wav(tmp_path / "w" / "generated_audio" / "stray.wav")
    with pytest.raises(ManifestError, match=f"{stray}: not in generated_audio/<vocoder>/"):
        list(iter_rows(DatasetConfig("wavefake", str(tmp_path / "w"))))


# --- DFADD ---------------------------------------------------------------------------------


def dfadd_tree(root: Path) -> dict[str, tuple]:
    planted = {}
    split = {"train": "training", "valid": "validation", "test": "testing"}
    for part, speaker in (("train", "p225"), ("valid", "p226"), ("test", "p227")):
        path = wav(root / "DATASET_VCTK_BONAFIDE" / part / f"{speaker}_001.wav")
        planted[str(path)] = (split[part], 0, "-", speaker)
        for system in ("GradTTS", "MatchaTTS", "NaturalSpeech2", "PflowTTS", "StyleTTS2"):
            name = f"{speaker}_001_{system}.flac"
            path = flac(root / f"DATASET_{system}" / part / name)
            planted[str(path)] = (split[part], 1, system, speaker)
    return planted


def test_dfadd(tmp_path: Path):
    planted = dfadd_tree(tmp_path / "DFADD" / "DFADD_ZIP")
    for root in (tmp_path / "DFADD", tmp_path / "DFADD" / "DFADD_ZIP"):
        rows = read_twice(DatasetConfig("dfadd", str(root)))
        assert summary(rows) == planted
        assert rows[0].attack == "-"  # the bona fide folder first


def test_dfadd_unknown_system_is_named(tmp_path: Path):
    root = tmp_path / "DFADD"
    dfadd_tree(root)
    wav(root / "DATASET_VoiceBox" / "test" / "p227_001_VoiceBox.wav")
    with pytest.raises(ManifestError) as error:
        list(iter_rows(DatasetConfig("dfadd", str(root))))
    lines = [line for line in str(error.value).splitlines() if "DATASET_VoiceBox" in line]
    assert len(lines) == 1 and "unknown DFADD system 'VoiceBox'" in lines[0]
