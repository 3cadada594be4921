"""The corpus as a shortcut (issue 25 item 4): with several corpora the shortcut check names a
corpus that is one class, and tells a property that separates the corpora (pooled AUC high,
none within a corpus) from one that separates real and fake within each corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudprep.extraction.properties import CATEGORICAL, PROPERTIES
from fraudprep.inputs.manifest import ManifestRow, row_sort_key, write_manifest
from fraudprep.outputs.dataset_stats import CorpusOfSamples
from fraudprep.outputs.shortcuts import CORPUS, shortcut_table, within_corpus_verdict
from fraudprep.report.report_shortcuts import write_shortcut_table

SPLITS = ("training", "validation", "testing")


def planted(tmp_path: Path, corpora: dict[str, dict], seed: int = 0) -> tuple[Path, Path]:
    """A manifest of corpora and its properties.csv. ``corpora``: name -> {"files": {split:
    (real, fake)}, "rate": sample rate, "rms_gap": fakes' rms_dbfs above reals' (in standard
    deviations)}; everything else is noise alike in every corpus and class. A failed file
    (in the manifest, not in properties.csv) per corpus and split, as extraction leaves it."""
    rng = np.random.default_rng(seed)
    rows, properties = [], []
    for corpus, spec in corpora.items():
        for split, (reals, fakes) in spec["files"].items():
            for label, count in ((0, reals), (1, fakes)):
                for index in range(count + 1):
                    path = f"/data/{corpus}/{split}/{label}/{index}.wav"
                    rows.append(ManifestRow(path, split, label, 1000, corpus=corpus))
                    if index == count:
                        continue  # the failed one
                    values = {}
                    for name in PROPERTIES:
                        values[name] = "wav/pcm_16" if name in CATEGORICAL else rng.normal()
                    values["sample_rate"] = spec.get("rate", 16000)
                    values["rms_dbfs"] = -30 + rng.normal() + spec.get("rms_gap", 0) * label
                    properties.append({"path": path, "split": split, "label": label, **values})
    rows.sort(key=row_sort_key)
    manifest = tmp_path / "manifest.csv"
    write_manifest(rows, manifest, with_corpus=True)
    order = {row.path: position for position, row in enumerate(rows)}
    properties.sort(key=lambda row: order[row["path"]])  # batch order: manifest order
    path = tmp_path / "properties.csv"
    pd.DataFrame(properties).to_csv(path, index=False)
    return path, manifest


def both(count: int) -> dict[str, tuple[int, int]]:
    return {split: (count, count) for split in SPLITS}


def messages(table: dict) -> list[str]:
    return [item["message"] for item in table["flagged"]]


def test_a_corpus_all_fake_is_named(tmp_path):
    properties, manifest = planted(
        tmp_path,
        {
            "la19": {"files": both(40)},
            "mlaad": {"files": {"training": (0, 60), "validation": (0, 10)}},
        },
    )
    table = shortcut_table(properties, 0.8, manifest)
    [item] = [item for item in table["flagged"] if item["property"] == CORPUS]
    assert (item["corpus"], item["label"], item["splits"]) == (
        "mlaad", "fake", ["training", "validation"],
    )  # fmt: skip
    assert item["message"] == (
        "corpus mlaad is all fake: a detector can learn the corpus instead of the voice "
        "(70 fake files: 60 in training, 10 in validation)"
    )
    training = table[CORPUS]["by_split"]["training"]
    assert training["by_corpus"] == {
        "la19": {"real": 40, "fake": 40, "fake_share": 0.5},
        "mlaad": {"real": 0, "fake": 60, "fake_share": 1.0},
    }
    # The corpus's fake share as a score: every real (share 0.5) below the 60 fakes at 1.0
    # and tied with la19's 40: AUC = (60 * 40 + 0.5 * 40 * 40) / (100 * 40) = 0.8.
    assert training["auc"] == pytest.approx(0.8)
    assert table["flagged"][0] is item  # the corpus first
    # Nothing about the voice-free properties: they are noise alike everywhere.
    assert [i["property"] for i in table["flagged"]] == [CORPUS]


def test_a_corpus_all_fake_in_one_split_only_names_the_split(tmp_path):
    properties, manifest = planted(
        tmp_path,
        {"a": {"files": both(20)},
         "b": {"files": {"training": (0, 20), "testing": (20, 20)}}},
    )  # fmt: skip
    [item] = [item for item in shortcut_table(properties, 0.8, manifest)["flagged"]]
    assert item["message"].startswith("corpus b is all fake in training: a detector can learn")


def test_a_property_that_differs_only_between_corpora_separates_corpora(tmp_path):
    # mlaad at 8 kHz and mostly fake, la19 at 16 kHz and mostly real; within each corpus
    # real and fake files are alike (same rate, same noise).
    files = {"la19": {"training": (160, 20)}, "mlaad": {"training": (20, 160)}}
    properties, manifest = planted(
        tmp_path,
        {"la19": {"files": files["la19"], "rate": 16000},
         "mlaad": {"files": files["mlaad"], "rate": 8000}},
    )  # fmt: skip
    table = shortcut_table(properties, 0.8, manifest)
    flagged = {item["property"]: item for item in table["flagged"]}
    rate = flagged["sample_rate"]
    assert rate["separates"] == "corpora"
    # Fakes at 8 kHz above reals at 16 kHz, ties within a rate: (160 * 160 + 2 * 0.5 * 160 * 20)
    # / 180^2 = 0.8889.
    assert rate["auc"] == pytest.approx(0.8889)
    assert rate["message"].startswith(
        "original sample rate separates the corpora, not real from fake (AUC 0.89"
    )
    assert "within each corpus at most AUC 0.80: la19 0.50, mlaad 0.50" in rate["message"]
    within = table["properties"]["sample_rate"]["by_split"]["training"]["by_corpus"]
    assert within["la19"]["auc"] == within["mlaad"]["auc"] == 0.5
    # The corpus alone separates too (no corpus is one class): named as such.
    assert flagged[CORPUS]["message"].startswith("the corpus alone tells real from fake (AUC 0.89")
    assert "share of fakes: la19 11%, mlaad 89%" in flagged[CORPUS]["message"]
    assert "rms_dbfs" not in flagged


def test_a_property_that_separates_classes_within_each_corpus_is_a_class_shortcut(tmp_path):
    properties, manifest = planted(
        tmp_path,
        {"la19": {"files": both(60), "rms_gap": 2.5, "rate": 16000},
         "mlaad": {"files": both(60), "rms_gap": 2.5, "rate": 8000}},
    )  # fmt: skip
    table = shortcut_table(properties, 0.8, manifest)
    flagged = {item["property"]: item for item in table["flagged"]}
    assert set(flagged) >= {"rms_dbfs"}
    assert flagged["rms_dbfs"]["separates"] == "classes"
    message = flagged["rms_dbfs"]["message"]
    assert message.startswith("real and fake differ by RMS level (AUC 0.9")
    assert "within each corpus: la19 0.9" in message and ", mlaad 0.9" in message
    assert "separates the corpora" not in message
    # Rates differ by corpus only, and both corpora are half fake: nothing to learn from them.
    assert "sample_rate" not in flagged and CORPUS not in flagged


def test_within_corpus_verdict_needs_enough_files():
    low = {"separation": 0.55, "separation_low": 0.5}
    high_uncertain = {"separation": 1.0, "separation_low": 0.6}
    high_clear = {"separation": 0.99, "separation_low": 0.95}
    few = {"separation": None, "separation_low": None}
    assert within_corpus_verdict({"a": low, "b": low}, 0.8) == "corpora"
    assert within_corpus_verdict({"a": low, "b": high_clear}, 0.8) == "classes"
    assert within_corpus_verdict({"a": low, "b": high_uncertain}, 0.8) == "unclear"
    assert within_corpus_verdict({"a": few}, 0.8) == "unclear"
    assert within_corpus_verdict({"a": few, "b": low}, 0.8) == "corpora"


def test_without_corpora_the_table_has_no_corpus_keys(tmp_path):
    properties, _ = planted(tmp_path, {"la19": {"files": both(20), "rms_gap": 4.0}})
    table = shortcut_table(properties, 0.8)
    assert CORPUS not in table
    assert "by_corpus" not in table["properties"]["rms_dbfs"]["by_split"]["training"]
    assert all("separates" not in item for item in table["flagged"])


def test_the_report_table_shows_the_corpus_row_and_within_corpus_aucs(tmp_path):
    properties, manifest = planted(
        tmp_path,
        {"la19": {"files": {"training": (160, 20)}, "rate": 16000},
         "mlaad": {"files": {"training": (20, 160)}, "rate": 8000}},
    )  # fmt: skip
    stats = {"model": "m", "shortcuts": shortcut_table(properties, 0.8, manifest)}
    html = write_shortcut_table(stats, tmp_path / "table.html").read_text()
    assert "AUC within each corpus" in html
    assert "corpus the file comes from" in html
    assert "la19 0.500, mlaad 0.500" in html
    assert "corpora" in html  # the flag of sample_rate: separates corpora


def test_corpus_of_samples_walks_the_manifest_past_failures(tmp_path):
    _, manifest = planted(tmp_path, {"b": {"files": both(2)}, "a": {"files": both(2)}})
    walk = CorpusOfSamples(manifest, "validation")
    assert walk.corpus("/data/a/validation/0/1.wav") == "a"
    assert walk.corpus("/data/b/validation/1/0.wav") == "b"
    with pytest.raises(RuntimeError, match="accounting error"):
        walk.corpus("/data/a/validation/0/0.wav")  # behind: the order was broken
    copies = CorpusOfSamples(manifest, "training", repeats=True)
    assert [copies.corpus("/data/a/training/0/0.wav") for _ in range(3)] == ["a"] * 3
    assert copies.corpus("/data/b/training/1/1.wav") == "b"
