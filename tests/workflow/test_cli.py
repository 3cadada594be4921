"""The ``fraudprep`` command (plan, run, info, evaluate) against what a real run, made through
``fraudprep run``, wrote. Its parts that need no run are in unit/cli/."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from helpers import REPO, TREE_FILES, build_tree, cli

from fraudprep.cli import main
from fraudprep.cli.currency import expected_records, read_records
from fraudprep.cli.inventory import take_inventory
from fraudprep.cli.outlook import model_outlooks
from fraudprep.cli.workflow_config import load_workflow_config
from fraudprep.inputs.chunks import chunk_sizes, read_chunks
from fraudprep.inputs.manifest import LABEL_NAMES, count_table_rows, iter_manifest
from fraudprep.outputs.loader import read_dataset_stats, read_metadata

MODELS = ["resnet_low_memory", "unetr"]  # batch sizes 4 and 8: different batch counts
CHUNK_SIZE = 4  # 12 files -> 4 chunks, so chunks cut across splits


def workflow_entries(tree: Path, out: Path, *more: str) -> list[str]:
    """--config values of the test run; the plan and info read the config the same way."""
    return [
        f"input_dir={tree}", f"output_dir={out}", f"models=[{','.join(MODELS)}]",
        f"chunk_size={CHUNK_SIZE}", "report_figures=false", "max_failure_fraction=0.5", *more,
    ]  # fmt: skip


def tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry below ``folder`` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
    }


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory) -> dict[str, Path]:
    """One real run through ``fraudprep run``: a FoR tree with a broken file (a failure) and a
    text file (skipped), outputs in a temporary output_dir."""
    root = tmp_path_factory.mktemp("cli")
    tree = build_tree(root / "for")
    (tree / "training/real/broken.wav").write_bytes(b"RIFF" + b"\x00" * 60)
    (tree / "testing/fake/notes.txt").write_text("not audio")
    out, work = root / "out", root / "work"
    work.mkdir()
    done = cli(
        "run", "--cores", "2", "--directory", str(work),
        "--configfile", str(REPO / "config.yaml"), "--config", *workflow_entries(tree, out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return {"tree": tree, "out": out, "work": work}


def plan_config(run: dict[str, Path], *more: str):
    return load_workflow_config(
        REPO, [str(REPO / "config.yaml")], workflow_entries(run["tree"], run["out"], *more)
    )


# --- plan ----------------------------------------------------------------------------------


def test_plan_counts_what_the_manifest_and_chunk_steps_wrote(workflow_run):
    cfg = plan_config(workflow_run)
    out = workflow_run["out"]
    inventory = take_inventory(cfg.dataset)
    manifest = Counter(
        (row.split, LABEL_NAMES[row.label]) for row in iter_manifest(out / "manifest.csv")
    )
    assert inventory.files == manifest
    assert inventory.total == count_table_rows(out / "manifest.csv") == len(TREE_FILES) + 1
    assert inventory.skipped == count_table_rows(out / "skipped.csv") == 1
    written_chunks = [chunk.size for chunk in read_chunks(out / "chunks.csv")]
    assert chunk_sizes(inventory.total, CHUNK_SIZE) == written_chunks


def test_plan_samples_and_bytes_are_the_disk_checks(workflow_run):
    cfg = plan_config(workflow_run)
    outlooks = model_outlooks(cfg.models, take_inventory(cfg.dataset).per_split, CHUNK_SIZE, None)
    estimate = yaml.safe_load((workflow_run["out"] / "disk_space.json").read_text())
    assert {o.settings.model: o.bytes for o in outlooks} == estimate["bytes_per_model"]
    assert {o.samples for o in outlooks} == {estimate["samples"]}


def test_plan_prints_the_counts_and_writes_nothing_into_output_dir(workflow_run):
    out = workflow_run["out"]
    before = tree_state(out)
    done = cli("plan", "--configfile", str(REPO / "config.yaml"),
               "--config", *workflow_entries(workflow_run["tree"], out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert tree_state(out) == before
    text = done.stdout
    # training: 3 real + the broken file, 3 fake; 12 files in all, 1 skipped
    assert re.search(r"^\s+training\s+4\s+3\s+7$", text, re.MULTILINE)
    assert re.search(r"^\s+total\s+6\s+6\s+12$", text, re.MULTILINE)
    assert "+ 1 file(s) under class folders without an audio extension" in text
    # The broken file is a failure of each model, known from the run's failures tables.
    assert "known failures (earlier run's <model>/failures.csv): resnet_low_memory 1, unetr 1" in (
        text
    )
    assert f"chunks: 4 extraction jobs of 3 files (chunk_size {CHUNK_SIZE})" in text
    stats = read_dataset_stats(out, "unetr")
    assert re.search(rf"^\s+unetr\s+128x256\s+float32\s+12\s+{stats['total_batches']}\s+1\s",
                     text, re.MULTILINE)  # fmt: skip
    # The rate is the run's own, and says so.
    assert "rate measured by 4 extraction job(s) of the earlier run here" in text


# --- run -----------------------------------------------------------------------------------


def test_run_made_the_outputs_and_refuses_outside_the_checkout(workflow_run, tmp_path):
    out = workflow_run["out"]
    assert set(read_records(out)) == {"manifest", "chunks", *MODELS}
    done = cli("run", "-n", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"fraudprep: no Snakefile in {tmp_path}; run fraudprep in the fraudprep checkout "
        "(the folder with Snakefile and config.yaml)"
    ]


# --- info ----------------------------------------------------------------------------------


def info_rows(text: str) -> dict[str, list[str]]:
    """The models table of ``fraudprep info``: model -> its cells (columns are 2+ spaces
    apart)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("models"))
    header = re.split(r"\s{2,}", lines[start + 1].strip())
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("  ") or line.startswith("  warnings"):
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def test_info_counts_equal_the_outputs_own(workflow_run):
    out = workflow_run["out"]
    done = cli("info", str(out), "--configfile", str(REPO / "config.yaml"),
               "--config", *workflow_entries(workflow_run["tree"], out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = info_rows(done.stdout)
    assert set(rows) == set(MODELS)
    for model in MODELS:
        metadata = read_metadata(out, model)
        row = rows[model]
        for split, entries in metadata.items():
            assert int(row[split]) == sum(entry["num_samples"] for entry in entries)
        assert int(row["batches"]) == sum(len(entries) for entries in metadata.values())
        with open(out / model / "failures.csv", newline="") as handle:
            assert int(row["failures"]) == len(list(csv.DictReader(handle))) == 1
        assert row["state"] == "matches manifest"
    manifest_rows = count_table_rows(out / "manifest.csv")
    assert f"{manifest_rows} files in manifest.csv (training 7, validation 2, testing 3)" in (
        done.stdout
    )
    assert "1 file(s) skipped (not an audio extension)" in done.stdout
    assert "current: yes" in done.stdout


def test_info_builds_the_records_the_workflow_wrote(workflow_run):
    """The currency check is only as good as its copy of the workflow's records."""
    recorded = read_records(workflow_run["out"])
    assert expected_records(plan_config(workflow_run), list(recorded)) == recorded


def test_info_names_what_a_changed_config_would_redo(workflow_run):
    out = workflow_run["out"]
    changed = workflow_entries(workflow_run["tree"], out, "chunk_size=5", "min_duration=0.2")
    done = cli("info", str(out), "--configfile", str(REPO / "config.yaml"), "--config", *changed)
    assert done.returncode == 0, done.stderr
    assert "current: no" in done.stdout
    assert "  chunks: chunk_size 4 -> 5" in done.stdout
    for model in MODELS:
        assert f"  {model}: min_duration 0.1 -> 0.2" in done.stdout
    assert "  manifest:" not in done.stdout


def test_info_outside_the_checkout_checks_the_code_only(workflow_run, tmp_path):
    done = cli("info", str(workflow_run["out"]), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "checked: the recorded code versions only" in done.stdout
    assert "current: yes" in done.stdout


# --- evaluate ------------------------------------------------------------------------------


def test_evaluate_is_the_report_module_with_the_same_arguments(workflow_run, tmp_path, capsys):
    out = workflow_run["out"]
    scores = tmp_path / "scores.csv"
    rows = list(iter_manifest(out / "manifest.csv"))
    # Fakes score lower (higher means bona fide) except one: the EER is not trivially 0.
    lines = [f"{row.path},{0.9 - 0.5 * row.label + 0.01 * i}" for i, row in enumerate(rows)]
    scores.write_text("path,score\n" + "\n".join(lines) + "\n")
    arguments = [str(scores), "--output-dir", str(out)]
    assert main(["evaluate", *arguments]) == 0
    ours = capsys.readouterr().out
    from fraudprep.report import evaluate

    assert evaluate.main(arguments) == 0
    assert capsys.readouterr().out == ours
    assert f"{len(rows)} scored files" in ours
    assert main(["evaluate", str(tmp_path / "missing.csv"), "--output-dir", str(out)]) == 1
    assert capsys.readouterr().err.startswith("fraudprep: ")
