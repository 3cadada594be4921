"""A run over three corpora in three layouts (ASVspoof 2019, an MLAAD-like listing re-split by
speaker, an In-the-Wild folder for testing only): one manifest with a corpus column, per-corpus
counts, the planted leaks reported, and evaluation per corpus."""

from __future__ import annotations

import csv
import importlib.util
import os
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from corpora_trees import build_corpora, corpora_config
from helpers import REPO, snakemake_command

from fraudprep.cli.inventory import take_inventory
from fraudprep.cli.workflow_config import load_workflow_config
from fraudprep.inputs.manifest import CORPUS_MANIFEST_COLUMNS, LABEL_NAMES, iter_manifest
from fraudprep.report import evaluate

OUT = "data/preprocessed"


@pytest.fixture(scope="module")
def corpora_run(tmp_path_factory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("corpora")
    trees = build_corpora(workdir / "in")
    # The shipped config with a corpora list added, as a user would edit it.
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"] = corpora_config(trees)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = snakemake_command(
        workdir, "--cores", "2", "--config", "models=[lfcc]", "chunk_size=8",
    )  # fmt: skip
    command[command.index("--configfile") + 1] = str(workdir / "config.yaml")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, result.stdout + result.stderr


def test_one_manifest_with_a_corpus_column(corpora_run):
    workdir, _ = corpora_run
    manifest = workdir / OUT / "manifest.csv"
    assert manifest.read_text().splitlines()[0] == ",".join(CORPUS_MANIFEST_COLUMNS)
    per_corpus = Counter((row.corpus, row.split) for row in iter_manifest(manifest))
    assert per_corpus == {
        ("la19", "training"): 4, ("la19", "validation"): 2, ("la19", "testing"): 4,
        ("mlaad", "training"): 8, ("mlaad", "validation"): 2,
        ("itw", "testing"): 6,
    }  # fmt: skip


def test_counts_per_corpus_in_dataset_stats_and_the_summary(corpora_run):
    workdir, console = corpora_run
    with open(workdir / OUT / "lfcc" / "dataset_stats.pkl", "rb") as handle:
        stats = pickle.load(handle)
    corpora = stats["corpora"]
    assert set(corpora) == {"la19", "mlaad", "itw"}
    assert sum(c["total_files"] for c in corpora.values()) == stats["total_files"] == 26
    assert corpora["itw"]["samples"]["testing"] == {"real": 3, "fake": 3}
    assert corpora["la19"]["attacks"]["testing"]["A11"] == {"real": 0, "fake": 1}
    assert "corpus la19: 10 files, 10 ok (training 4, validation 2, testing 4), 0 failed" in console
    assert "corpus itw: 6 files" in console


def test_planted_leaks_are_in_leakage_csv_and_on_the_console(corpora_run):
    workdir, console = corpora_run
    with open(workdir / OUT / "leakage.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kinds = Counter((r["kind"], r["corpus"]) for r in rows)
    assert kinds[("split", "la19")] == 1 and kinds[("split", "itw")] == 1
    assert kinds[("speaker", "mlaad")] == 6 and kinds[("speaker", "la19")] == 2
    assert {r["hash"] for r in rows if r["kind"] == "source"} == {"source:vctk"}
    log = (workdir / OUT / "logs" / "build_manifest.log").read_text()
    assert "speaker vctk/LA_0014 in training and testing" in log
    assert "shared source vctk in la19 (training)" in log
    assert "1 speaker in training and testing" in console  # dataset_stats' warning, at the end


def test_evaluate_gives_eer_per_corpus(corpora_run, capsys):
    workdir, _ = corpora_run
    rows = list(iter_manifest(workdir / OUT / "manifest.csv"))
    # Ids collide across corpora (itw's 0.wav and mlaad's */0.wav): scores name their corpus.
    lines = ["corpus,utt,score"]
    for i, row in enumerate(rows):
        score = (0.2 if row.label else 0.8) + (0.7 if row.corpus == "itw" and i % 2 else 0)
        key = row.path if row.corpus == "mlaad" else Path(row.path).stem
        lines.append(f"{row.corpus},{key},{score}")
    scores = workdir / "scores.csv"
    scores.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert evaluate.main([str(scores), "--output-dir", str(workdir / OUT)]) == 0
    out = capsys.readouterr().out
    print(out)
    groups = {line.rsplit(maxsplit=4)[0] for line in out.splitlines()[2:]}
    assert {"all", "corpus la19", "corpus itw", "corpus la19 attack A11"} <= groups
    la19 = next(line for line in out.splitlines() if line.startswith("corpus la19 "))
    assert la19.split()[-2:] == ["0.00", "0.0000"]


def test_plan_counts_what_the_corpora_run_wrote(corpora_run):
    """fraudprep plan reads the corpora list as the run does: the same files per split, class
    and corpus (it once read the single-dataset keys beside the list)."""
    workdir, _ = corpora_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg = load_workflow_config(REPO, [str(workdir / "config.yaml")], ["models=[lfcc]"])
    inventory = take_inventory(cfg.dataset)
    rows = list(iter_manifest(workdir / OUT / "manifest.csv"))
    assert inventory.files == Counter((row.split, LABEL_NAMES[row.label]) for row in rows)
    assert inventory.corpora == Counter((row.corpus, LABEL_NAMES[row.label]) for row in rows)
    assert {corpus for corpus, _ in inventory.corpora} == {c["name"] for c in config["corpora"]}


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None and not os.environ.get("CI"),
    reason="torch is not installed: make test installs it",
)
def test_the_worked_examples_scores_are_evaluated_per_corpus(corpora_run):
    """The worked example writes path,score; evaluate finds each path's corpus in the manifest."""
    workdir, _ = corpora_run
    scores = workdir / "example-scores.csv"
    example = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_detector.py"), "--output-dir",
         str(workdir / OUT), "--model", "lfcc", "--scores", str(scores), "--epochs", "1"],
        capture_output=True, text=True, timeout=600, cwd=workdir,
    )  # fmt: skip
    assert example.returncode == 0, example.stderr[-3000:]
    testing = Counter(r.corpus for r in iter_manifest(workdir / OUT / "manifest.csv")
                      if r.split == "testing")  # fmt: skip
    for corpus, files in testing.items():
        line = next(x for x in example.stdout.splitlines() if x.startswith(f"corpus {corpus} "))
        real, fake = (int(n) for n in line.split()[2:4])
        assert real + fake == files, line
