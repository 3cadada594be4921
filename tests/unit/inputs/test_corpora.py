"""Several corpora in one manifest (config ``corpora``): splits, caps, the corpus column,
cross-corpus leakage, and evaluation per corpus with colliding utterance ids."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from corpora_trees import build_corpora, corpora_config
from helpers import REPO, write_audio

from fraudprep.base.config_check import first_violation
from fraudprep.inputs.corpora import (
    CorporaConfig,
    input_listings,
    source_config,
    source_from_record,
)
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.integrity import read_leak_summary
from fraudprep.inputs.manifest import (
    CORPUS_MANIFEST_COLUMNS,
    MANIFEST_COLUMNS,
    ManifestError,
    ManifestRow,
    iter_manifest,
    write_manifest,
)
from fraudprep.inputs.manifest_build import LeakageError, build_manifest, source_fingerprint
from fraudprep.report import evaluate


@pytest.fixture
def trees(tmp_path: Path) -> dict[str, Path]:
    return build_corpora(tmp_path / "in")


def build(out: Path, corpora: list[dict], **options) -> list[ManifestRow]:
    cfg = source_config({"corpora": corpora})
    build_manifest(out / "manifest.csv", cfg, leakage_path=out / "leakage.csv", **options)
    return list(iter_manifest(out / "manifest.csv"))


def leak_rows(out: Path) -> list[dict]:
    with open(out / "leakage.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_three_corpora_make_one_manifest_with_a_corpus_column(trees, tmp_path: Path):
    rows = build(tmp_path / "out", corpora_config(trees))
    header = (tmp_path / "out/manifest.csv").read_text().splitlines()[0]
    assert tuple(header.split(",")) == CORPUS_MANIFEST_COLUMNS
    per_corpus = Counter((r.corpus, r.split) for r in rows)
    assert per_corpus == {
        ("la19", "training"): 4, ("la19", "validation"): 2, ("la19", "testing"): 4,
        ("mlaad", "training"): 8, ("mlaad", "validation"): 2,
        ("itw", "testing"): 6,
    }  # fmt: skip
    # itw is all testing; the re-split keeps each mlaad speaker whole.
    assert {r.split for r in rows if r.corpus == "itw"} == {"testing"}
    speakers = {}
    for r in rows:
        if r.corpus == "mlaad":
            speakers.setdefault(r.speaker, set()).add(r.split)
    assert speakers["LA_0014"] == {"training"} and all(len(s) == 1 for s in speakers.values())
    # Rows are ordered by split, then corpus, then path: each corpus's rows are adjacent.
    keys = [(("training", "validation", "testing").index(r.split), r.corpus) for r in rows]
    assert keys == sorted(keys)


def test_manifest_is_the_same_whatever_the_order_of_the_corpora(trees, tmp_path: Path):
    build(tmp_path / "a", corpora_config(trees))
    build(tmp_path / "b", corpora_config(trees)[::-1])
    assert (tmp_path / "a/manifest.csv").read_bytes() == (tmp_path / "b/manifest.csv").read_bytes()
    assert (tmp_path / "a/leakage.csv").read_bytes() == (tmp_path / "b/leakage.csv").read_bytes()


def test_planted_duplicate_speaker_and_shared_source_are_reported(trees, tmp_path: Path):
    out = tmp_path / "out"
    build(out, corpora_config(trees))
    rows = leak_rows(out)
    duplicate = [
        (Path(r["path"]).name, r["split"], r["corpus"]) for r in rows if r["kind"] == "split"
    ]
    assert duplicate == [("LA_T_1000001.flac", "training", "la19"), ("copy.flac", "testing", "itw")]
    speaker = [r for r in rows if r["kind"] == "speaker"]
    assert {r["hash"] for r in speaker} == {"speaker:vctk/LA_0014"}
    assert Counter((r["corpus"], r["split"]) for r in speaker) == {
        ("mlaad", "training"): 6, ("la19", "testing"): 2,
    }  # fmt: skip
    source = {(r["corpus"], r["split"]) for r in rows if r["kind"] == "source"}
    assert source == {("la19", "training"), ("la19", "validation"), ("la19", "testing"),
                      ("mlaad", "training"), ("mlaad", "validation")}  # fmt: skip
    summary = read_leak_summary(out / "leakage.csv")
    assert summary["split_leaks"] == 1 and summary["shared_speakers"] == 1
    assert summary["shared_sources"] == 1 and summary["corpus_duplicates"] == 0
    assert summary["files_per_corpus"] == {"itw": 1, "la19": 3, "mlaad": 6}


def test_identical_audio_in_one_split_of_two_corpora_is_reported(trees, tmp_path: Path):
    write_audio(trees["itw"] / "twin.wav", seconds=0.4, seed=999)
    write_audio(tmp_path / "extra" / "twin.wav", seconds=0.4, seed=999)
    (tmp_path / "extra.csv").write_text(f"path,split,label\n{tmp_path}/extra/twin.wav,eval,0\n")
    with open(trees["itw"] / "meta.csv", "a") as handle:
        handle.write("twin.wav,Someone,bona-fide\n")
    corpora = [*corpora_config(trees), {"name": "extra", "dataset": "csv",
                                        "listing": str(tmp_path / "extra.csv")}]  # fmt: skip
    build(tmp_path / "out", corpora)
    twins = [
        (r["corpus"], r["split"]) for r in leak_rows(tmp_path / "out") if r["kind"] == "corpus"
    ]
    assert twins == [("extra", "testing"), ("itw", "testing")]


def test_fail_on_leakage_stops_on_cross_corpus_leaks(trees, tmp_path: Path):
    kept = tmp_path / "out" / "leakage-of-the-failed-run.csv"
    with pytest.raises(LeakageError, match=f"every one is listed in {kept}"):
        build(tmp_path / "out", corpora_config(trees), fail_on_leakage=True)
    assert not (tmp_path / "out/manifest.csv").exists()
    # Snakemake removes a failed job's leakage.csv; the kept table names the shared speaker.
    assert "speaker:vctk/LA_0014" in kept.read_text()


def test_no_shared_namespace_no_speaker_leak(trees, tmp_path: Path):
    corpora = corpora_config(trees)
    del corpora[1]["speaker_namespace"]
    build(tmp_path / "out", corpora)
    assert not [r for r in leak_rows(tmp_path / "out") if r["kind"] == "speaker"]


def test_max_files_draws_the_same_files_whatever_the_listing_order(trees, tmp_path: Path):
    first = build(tmp_path / "a", corpora_config(trees, itw_max_files=3))
    meta = (trees["itw"] / "meta.csv").read_text().splitlines()
    (trees["itw"] / "meta.csv").write_text("\n".join([meta[0], *meta[:0:-1]]) + "\n")
    second = build(tmp_path / "b", corpora_config(trees, itw_max_files=3))
    kept = [r.path for r in first if r.corpus == "itw"]
    assert len(kept) == 3 and kept == [r.path for r in second if r.corpus == "itw"]
    # Another seed draws other files (for this tree and these seeds).
    corpora = corpora_config(trees, itw_max_files=3)
    corpora[2]["seed"] = 7
    third = build(tmp_path / "c", corpora)
    assert len([r for r in third if r.corpus == "itw"]) == 3
    assert [r.path for r in third if r.corpus == "itw"] != kept


def test_a_moved_corpus_splits_and_samples_the_same_files(trees, tmp_path: Path):
    """Draws and speakerless re-splits hash each file's path below its corpus's folder: the
    same corpora elsewhere (another mount, another clone's data/) give the same manifest. They
    once hashed absolute paths, so the sample changed with the folder's place."""
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(tmp_path / "in", moved)
    moved_trees = {name: moved / path.relative_to(tmp_path / "in") for name, path in trees.items()}
    here = build(tmp_path / "a", corpora_config(trees, itw_max_files=3))
    there = build(tmp_path / "b", corpora_config(moved_trees, itw_max_files=3))

    def placed(rows: list[ManifestRow], root: Path) -> list[tuple[str, str, str]]:
        return [(r.corpus, r.split, str(Path(r.path).relative_to(root))) for r in rows]

    assert placed(here, tmp_path / "in") == placed(there, moved)


def test_share_caps_a_corpus_to_a_fraction_of_the_training_split(trees, tmp_path: Path):
    corpora = corpora_config(trees)
    corpora[1]["share"] = {"training": 0.5}  # la19 has 4 training files: mlaad keeps 4 of 8
    rows = build(tmp_path / "out", corpora)
    training = Counter(r.corpus for r in rows if r.split == "training")
    assert training == {"la19": 4, "mlaad": 4}


def test_single_dataset_config_is_unchanged(for_tree: Path, tmp_path: Path):
    config = {"dataset": "for", "input_dir": str(for_tree)}
    cfg = source_config(config)
    assert cfg == DatasetConfig.from_config(config)
    assert source_from_record({**cfg.as_dict(), "fingerprint": "x"}) == cfg
    build_manifest(tmp_path / "m.csv", cfg, leakage_path=tmp_path / "l.csv")
    assert (tmp_path / "m.csv").read_text().splitlines()[0] == ",".join(MANIFEST_COLUMNS)
    assert (tmp_path / "l.csv").read_text() == "hash,kind,path,split,label\n"
    assert all(row.corpus == "" for row in iter_manifest(tmp_path / "m.csv"))


def test_corpora_config_round_trips_and_lists_its_listings(trees):
    cfg = source_config({"corpora": corpora_config(trees), "input_dir": "ignored"})
    assert isinstance(cfg, CorporaConfig)
    assert source_from_record({**cfg.as_dict(), "fingerprint": "x"}) == cfg
    assert input_listings(cfg) == [str(trees["mlaad"])]
    assert cfg.shared_namespaces() == {"la19": "vctk", "mlaad": "vctk"}
    assert source_fingerprint(cfg) == source_fingerprint(source_config(cfg.as_dict()))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"dataset": "itw"}, {"dataset": "itw"}], "used twice"),
        ([{"dataset": "itw", "split": "holdout"}], "not a split"),
        ([{"dataset": "itw", "name": "a:b"}], "must be letters"),
        ([{"dataset": "nope"}], "is not one of"),
        ([{"dataset": "itw", "split": {"training": 0}}], "not all 0"),
        ([], "non-empty list"),
    ],
)
def test_bad_corpora_entries_are_named(entries, message):
    with pytest.raises(ManifestError, match=message):
        CorporaConfig.from_entries(entries)


def scored_manifest(tmp_path: Path) -> Path:
    """Two corpora whose utterance ids collide (0.flac in both), scored perfectly but for
    one corpus's attack B."""
    rows = []
    for corpus in ("la19", "itw"):
        for i in range(4):
            label, attack = (0, "-") if i < 2 else (1, "A" if i == 2 else "B")
            rows.append(
                ManifestRow(f"/{corpus}/{i}.flac", "testing", label, 1, "", attack, corpus=corpus)
            )
    manifest = tmp_path / "out" / "manifest.csv"
    manifest.parent.mkdir()
    write_manifest(rows, manifest, with_corpus=True)
    return manifest


def test_evaluate_per_corpus_matches_colliding_ids_by_corpus(tmp_path: Path, capsys):
    scored_manifest(tmp_path)
    # itw's attack B is scored as bona fide: itw has an EER, la19 none.
    lines = ["corpus,utt,score"]
    for corpus in ("la19", "itw"):
        for i, score in enumerate((0.9, 0.8, 0.1, 0.95 if corpus == "itw" else 0.2)):
            lines.append(f"{corpus},{i},{score}")
    (tmp_path / "scores.csv").write_text("\n".join(lines) + "\n")
    assert evaluate.main([str(tmp_path / "scores.csv"), "--output-dir", str(tmp_path / "out")]) == 0
    table = {
        line.rsplit(maxsplit=4)[0]: line.split()[-2:]
        for line in capsys.readouterr().out.splitlines()[2:]
    }
    assert table["corpus la19"] == ["0.00", "0.0000"]
    assert table["corpus itw"][0] == "50.00"
    assert table["corpus itw attack A"][0] == "0.00" and table["corpus itw attack B"][0] != "0.00"
    assert "all" in table and "attack B" in table


def test_unqualified_colliding_ids_stop_with_a_hint(tmp_path: Path, capsys):
    scored_manifest(tmp_path)
    (tmp_path / "scores.txt").write_text("0 0.9\n1 0.8\n2 0.1\n3 0.2\n")
    assert evaluate.main([str(tmp_path / "scores.txt"), "--output-dir", str(tmp_path / "out")]) == 1
    assert "qualify it with its corpus" in capsys.readouterr().err
    # <corpus>:<id> keys in the ASVspoof form match that corpus only.
    (tmp_path / "scores.txt").write_text("la19:0 0.9\nla19:1 0.8\nla19:2 0.1\nla19:3 0.2\n")
    assert evaluate.main([str(tmp_path / "scores.txt"), "--output-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "4 scored files" in out and "corpus la19" in out and "corpus itw" not in out


def test_resplit_does_not_depend_on_the_order_of_the_shares(trees, tmp_path: Path):
    corpora = corpora_config(trees)
    first = build(tmp_path / "a", corpora)
    corpora[1]["split"] = dict(reversed(list(corpora[1]["split"].items())))
    assert build(tmp_path / "b", corpora) == first


def test_max_files_0_keeps_no_file(trees, tmp_path: Path):
    corpora = corpora_config(trees)
    corpora[2]["max_files"] = 0  # a cap of 0 is none, as {testing: 0} is
    rows = build(tmp_path / "a", corpora)
    assert not [r for r in rows if r.corpus == "itw"]
    corpora[2]["max_files"] = {"testing": 0}
    assert build(tmp_path / "b", corpora) == rows


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("max_file", r"corpora\[2\] \(itw\): 'max_file' is not an option of a corpus; "
                     r"did you mean 'max_files'\?"),
        ("inputdir", r"'inputdir' is not an option of a corpus; did you mean 'input_dir'\?"),
    ],
)  # fmt: skip
def test_a_mistyped_key_of_an_entry_is_one_line_with_the_nearest_key(trees, key, message):
    corpora = corpora_config(trees)
    corpora[2][key] = 1
    with pytest.raises(ManifestError, match=message) as error:
        source_config({"corpora": corpora})
    assert "\n" not in str(error.value)
    # The workflow's schema check says so first, in one line.
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    line = first_violation({"corpora": corpora}, schema)
    assert line is not None and "\n" not in line
    assert f"config key 'corpora[2].{key}' is not a setting; did you mean 'corpora[2]." in line


def test_shares_of_a_split_over_1_are_refused(trees):
    corpora = corpora_config(trees)
    corpora[0]["share"] = {"training": 0.7}
    corpora[1]["share"] = {"train": 0.5}
    with pytest.raises(ManifestError, match=r"shares of training add up to 1\.2 "
                                            r"\(la19 0\.7, mlaad 0\.5\)") as error:  # fmt: skip
        source_config({"corpora": corpora})
    assert "\n" not in str(error.value)


def test_shares_that_cannot_all_hold_are_refused(trees, tmp_path: Path):
    """0.3 + 0.3 with no corpus without a share in training: neither can be "at most 30%"."""
    corpora = corpora_config(trees)[:2]
    corpora[0]["share"] = {"training": 0.3}
    corpora[1]["share"] = {"training": 0.3}
    cannot = r"shares of training add up to 0\.6 \(la19 0\.3, mlaad 0\.3\) and no corpus without"
    with pytest.raises(ManifestError, match=cannot):
        build(tmp_path / "out", corpora)
    # Adding up to 1, they hold exactly: la19's 4 training files are half of training.
    corpora[0]["share"] = {"training": 0.5}
    corpora[1]["share"] = {"training": 0.5}
    rows = build(tmp_path / "out", corpora)
    assert Counter(r.corpus for r in rows if r.split == "training") == {"la19": 4, "mlaad": 4}


def test_a_share_is_at_most_that_fraction_of_the_split_as_kept(trees, tmp_path: Path):
    """itw has no training files: mlaad must still be at most 30% of what training keeps."""
    corpora = corpora_config(trees)
    corpora[1]["share"] = {"training": 0.3}
    corpora[2]["share"] = {"training": 0.3}
    rows = build(tmp_path / "out", corpora)
    training = Counter(r.corpus for r in rows if r.split == "training")
    assert training == {"la19": 4, "mlaad": 1}  # 2 of 6 would be a third
    assert training["mlaad"] <= 0.3 * sum(training.values())


def test_a_share_of_a_corpus_without_files_there_that_empties_the_split_is_an_error(
    trees, tmp_path: Path
):
    corpora = [corpora_config(trees)[0], corpora_config(trees)[2]]
    corpora[0]["share"] = {"training": 0.5}
    corpora[1]["share"] = {"training": 0.5}  # itw is all testing: no training files
    empty = r"corpus itw has a share of training \(0\.5\) but no training files"
    with pytest.raises(ManifestError, match=empty) as error:
        build(tmp_path / "out", corpora)
    assert "\n" not in str(error.value)


def test_the_leakage_warning_line_stands_alone(trees, tmp_path: Path, caplog):
    """The console shows a warning's first line only: it must not end in ":"."""
    with caplog.at_level("WARNING"):
        build(tmp_path / "out", corpora_config(trees))
    leaks = [r.getMessage() for r in caplog.records if "group(s) of" in r.getMessage()]
    assert len(leaks) == 1
    first, *groups = leaks[0].splitlines()
    assert first == (
        "3 group(s) of identical audio across splits, labels or corpora, or shared speakers or "
        f"sources, every one listed in {tmp_path / 'out' / 'leakage.csv'}"
    )
    assert len(groups) == 3
