"""Tests for the bundled demo corpus builder (tools/demo_corpus)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
import soundfile as sf
from helpers import REPO

from fraudprep.inputs.integrity import content_hash
from tools.demo_corpus import tts
from tools.demo_corpus.__main__ import main
from tools.demo_corpus.assemble import (
    CLASSES,
    MANIFEST_NAME,
    SMALL_FILES,
    SPLITS,
    build_demo_corpus,
    write_protocol,
)
from tools.demo_corpus.errors import DemoCorpusError
from tools.demo_corpus.sources import REAL_SOURCES


def _deps_missing() -> str | None:
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    for src in REAL_SOURCES:
        if not src.path.is_file():
            return f"{src.path} not installed"
    return None


_MISSING = _deps_missing()
# Locally a missing system package only skips; in CI it must fail, so that a CI run can
# never go green without having built the corpus (CI should run tools/install-system-deps.sh).
if _MISSING and not os.environ.get("CI"):
    pytestmark = pytest.mark.skip(reason=f"{_MISSING}: run tools/install-system-deps.sh")


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): content_hash(str(p))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _scratch_dirs(root: Path) -> list[Path]:
    return sorted(root.parent.glob(f"{root.name}.partial*"))


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("demo") / "corpus"
    counts = build_demo_corpus(out, SMALL_FILES, seed=0)
    return out, counts


def _audio_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST_NAME]


def test_layout_and_counts(small_corpus: tuple[Path, dict[str, int]]) -> None:
    root, counts = small_corpus
    assert not _scratch_dirs(root)
    assert (root / MANIFEST_NAME).is_file()
    assert sorted(p.name for p in root.iterdir()) == sorted([*SPLITS, MANIFEST_NAME])
    for split in SPLITS:
        assert sorted(p.name for p in (root / split).iterdir()) == sorted(CLASSES)
        for cls in CLASSES:
            files = list((root / split / cls).iterdir())
            assert files, f"{split}/{cls} is empty"
            assert len(files) == SMALL_FILES[split] == counts[f"{split}/{cls}"]
    assert counts["total"] == len(_audio_files(root)) == 36


def test_files_decode_and_vary(small_corpus: tuple[Path, dict[str, int]]) -> None:
    root, _ = small_corpus
    rates, channels, suffixes = set(), set(), set()
    names_with_space = 0
    for path in _audio_files(root):
        info = sf.info(path)
        data, rate = sf.read(path, dtype="int16", always_2d=True)
        assert info.subtype == "PCM_16"
        assert len(data) == info.frames > 0
        assert 0.45 <= len(data) / rate <= 10.5, path
        assert data.any(), f"{path} is all zeros"
        rates.add(rate)
        channels.add(info.channels)
        suffixes.add(path.suffix)
        names_with_space += " " in path.name
    assert len(rates) > 1
    assert 2 in channels and 1 in channels
    assert {".flac", ".wav"} <= {s.lower() for s in suffixes}
    assert any(s != s.lower() for s in suffixes), "expected an upper-case extension"
    assert names_with_space > 0


def test_manifest_matches_files(small_corpus: tuple[Path, dict[str, int]]) -> None:
    root, _ = small_corpus
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    listed = {e["path"]: e for e in manifest["files"]}
    hashes = _hashes(root)
    del hashes[MANIFEST_NAME]
    assert set(listed) == set(hashes)
    for path, entry in listed.items():
        assert entry["sha256"] == hashes[path]
        assert path.split("/")[:2] == [entry["split"], entry["label"]]
    assert any(e["leading_silence_s"] or e["trailing_silence_s"] for e in manifest["files"])
    assert {e["source"]["engine"] for e in manifest["files"] if e["label"] == "fake"} == {
        "espeak-ng",
        "flite",
    }
    assert all(s["licence"] for s in manifest["real_sources"])


def test_real_recordings_do_not_cross_splits(small_corpus: tuple[Path, dict[str, int]]) -> None:
    root, _ = small_corpus
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    split_of: dict[str, str] = {}
    for entry in manifest["files"]:
        if entry["label"] != "real":
            continue
        recording = entry["source"]["recording"]
        assert split_of.setdefault(recording, entry["split"]) == entry["split"], recording
    # The source table itself must also be disjoint, including segments of one file.
    declared = {s["id"]: s["split"] for s in manifest["real_sources"]}
    assert len(declared) == len(manifest["real_sources"])
    assert all(declared[rec] == split for rec, split in split_of.items())
    segments: dict[str, list[tuple[float, float | None, str]]] = {}
    for s in manifest["real_sources"]:
        segments.setdefault(s["path"], []).append((*s["segment_s"], s["split"]))
    for path, segs in segments.items():
        if len({split for *_, split in segs}) > 1:
            spans = sorted((a, b) for a, b, _ in segs)
            assert all(b is not None and b <= c for (_, b), (c, _) in pairwise(spans)), path


def test_rebuild_is_byte_identical(
    small_corpus: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root, _ = small_corpus
    again = tmp_path / "again"
    build_demo_corpus(again, SMALL_FILES, seed=0)
    assert _hashes(again) == _hashes(root)


def test_second_call_does_nothing(
    small_corpus: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, counts = small_corpus
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert build_demo_corpus(root, SMALL_FILES, seed=0) == counts
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert "nothing to do" in capsys.readouterr().err
    assert not _scratch_dirs(root)


def test_stale_partial_is_replaced_and_foreign_dir_refused(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    dead_pid = 2**22 + 12345  # above Linux's pid_max: no such process
    stale = tmp_path / f"corpus.partial-{dead_pid}"
    (stale / "training" / "real").mkdir(parents=True)
    (stale / "training" / "real" / "junk.wav").write_bytes(b"not audio")
    tiny = {"training": 1, "validation": 1, "testing": 1}
    build_demo_corpus(out, tiny, seed=3)
    assert not stale.exists()
    assert not (out / "training" / "real" / "junk.wav").exists()

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("user data")
    with pytest.raises(DemoCorpusError, match="refusing"):
        build_demo_corpus(foreign, tiny)
    assert (foreign / "keep.txt").read_text() == "user data"


def test_missing_tool_gives_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        tts.shutil, "which", lambda cmd: None if cmd == "espeak-ng" else real_which(cmd)
    )
    with pytest.raises(DemoCorpusError, match="espeak-ng not found: run tools/install"):
        build_demo_corpus(tmp_path / "x", SMALL_FILES)
    assert not (tmp_path / "x").exists()


def test_cli_small(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    assert main([str(out), "--small"]) == 0
    assert (out / MANIFEST_NAME).is_file()
    assert main([str(out), "--small"]) == 0  # complete: nothing to do, still success


def test_documented_command_runs_from_project_root() -> None:
    # What Makefile and README run: tools/ is found from the working directory alone, with
    # nothing installed for it (PYTHONPATH dropped so pytest's own setting cannot help).
    root = REPO
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, "-m", "tools.demo_corpus", "--help"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--protocol" in done.stdout


def test_protocol_lists_every_file_with_its_tts_engine(small_corpus, tmp_path: Path) -> None:
    from helpers import read_manifest_csv

    root, counts = small_corpus
    protocol = tmp_path / "protocol.csv"
    assert write_protocol(root, protocol) == counts["total"]
    rows = read_manifest_csv(protocol)  # a valid dataset: csv listing, paths resolve
    assert len(rows) == counts["total"]
    assert {r.attack for r in rows if r.label == 1} <= {"espeak-ng", "flite"}
    assert {r.attack for r in rows if r.label == 0} == {"-"}
    assert all(r.speaker for r in rows)
