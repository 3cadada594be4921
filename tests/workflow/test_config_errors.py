"""Bad configuration and bad manifests stop the run before any job, with one clear message."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import REPO, snakemake_command, write_audio

from fraudprep.base.config_types import coerce_to_schema


def run(workdir: Path, *config: str) -> subprocess.CompletedProcess:
    command = snakemake_command(workdir, "--cores", "2", "--config", *config, default_profile=False)
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_audio(tmp_path / "corpus" / "training" / "real" / "a.wav")
    write_audio(tmp_path / "corpus" / "training" / "fake" / "b.wav")
    write_audio(tmp_path / "audio" / "c.wav")
    return tmp_path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (["chunk_size=0"], "config key 'chunk_size' = 0: must be at least 1"),
        (["memory_mode=tiny"], "'memory_mode' = 'tiny': must be one of standard, low, very_low"),
        (["batch_size=many"], "'batch_size' = 'many': must be an integer of at least 1 or auto"),
        (["models=[resnet,vgg]"], "models lists 'vgg', but feature_profiles has no such entry"),
        (["input_dir=missing"], "input_dir 'missing' does not exist or is not a directory"),
        (["listing=nothing.csv"], "listing 'nothing.csv' does not exist; fix the listing key"),
        (["listing=no_columns.csv"], "missing column(s) ['split']"),
        (["listing=bad_rows.csv"], "line 3: unknown label 'maybe'"),
        (["listing=bad_rows.csv"], "line 4: duplicate path 'audio/c.wav' (first on line 2)"),
        (["listing=bad_rows.csv"], "line 5: 'missing.wav' does not exist"),
        (["listing=latin1.csv"], "latin1.csv: not UTF-8 text (byte 0xe7 cannot be UTF-8)"),
        (["listing=nul.csv"], "line 2: the path contains a NUL byte"),
        (["output_dir=out{run}"], "output_dir 'out{run}' contains { or }"),
        (["max_input_seconds=5"], "max_input_seconds 5 is shorter than resnet's clip duration 10"),
        (["manifest=a.csv", "listing=b.csv"], "manifest (now called listing) is 'a.csv' but"),
        (
            ["augmentation={copies: 1, pool: [{kind: codec, codec: gsm}]}"],
            "augmentation.pool[0]: codec gsm is not available",
        ),
        (
            ["augmentation={copies: 1, pool: [{kind: codec, codec: mp3, bitrate_kbps: [64, 16]}]}"],
            "augmentation.pool[0]: bitrate_kbps must be two numbers low <= high, not [64, 16]",
        ),
    ],
)
def test_bad_config_fails_before_any_job(workdir: Path, config: list[str], message: str):
    (workdir / "no_columns.csv").write_text("path,label\naudio/c.wav,real\n")
    (workdir / "latin1.csv").write_bytes(
        "path,split,label\naudio/ç.wav,train,real\n".encode("latin-1")
    )
    (workdir / "nul.csv").write_text("path,split,label\naudio/c\0.wav,train,real\n")
    (workdir / "bad_rows.csv").write_text(
        "path,split,label\naudio/c.wav,train,real\naudio/c.wav,test,maybe\n"
        "audio/c.wav,test,fake\nmissing.wav,test,fake\n"
    )
    result = run(workdir, "input_dir=corpus", *config)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr  # one message, not a stack
    assert not (workdir / "logs").exists(), "a job ran before the error was reported"
    assert not (workdir / "data").exists()


def test_command_line_values_inside_blocks_get_the_schemas_types(workdir: Path):
    """README's own examples: numbers inside a block and YAML booleans from --config."""
    result = run(workdir, "input_dir=corpus", "report_figures=false", "hash_files=no",
                 "feature_profiles={resnet: {n_mels: 64, duration: 2.5, trim_top_db: null}}",
                 "-n")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    coerced = coerce_to_schema(
        {"report_figures": "false", "batch_size": "auto", "chunk_size": "12",
         "feature_profiles": {"resnet": {"n_mels": "64", "duration": "2.5",
                                         "trim_top_db": "null", "kind": "raw"}},
         "models": ["resnet"], "max_input_seconds": "ten"},
        schema,
    )  # fmt: skip
    assert coerced == {
        "report_figures": False, "batch_size": "auto", "chunk_size": 12,
        "feature_profiles": {"resnet": {"n_mels": 64, "duration": 2.5, "trim_top_db": None,
                                        "kind": "raw"}},
        "models": ["resnet"], "max_input_seconds": "ten",  # left for the schema to reject
    }  # fmt: skip


def test_the_old_name_of_listing_still_works_and_says_so(workdir: Path):
    (workdir / "listing.csv").write_text("path,split,label\naudio/c.wav,train,real\n")
    result = run(workdir, "manifest=listing.csv", "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the config key manifest is now called listing; using 'listing.csv'" in result.stderr
