"""The manifest step in bounded memory (inputs/manifest_build.py, integrity.py): streamed
hashing, leaks and duplicates over external-sort runs, the source fingerprint.

Most tests lower ``RUN_SIZE`` to a handful of rows (the tiny_runs fixture) so that small inputs
take the spill-and-merge path a million-row manifest takes, and compare with the in-memory
result."""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

import pytest
from helpers import (
    collect_rows,
    find_leaks,
    random_rows,
    read_manifest_csv,
    spill_dirs,
    write_audio,
)

from fraudprep.base import extsort
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.datasets.common import MAX_LISTED_PROBLEMS, Problems
from fraudprep.inputs.integrity import Leak, iter_with_hashes
from fraudprep.inputs.manifest import SPLITS, ManifestError, ManifestRow, row_sort_key
from fraudprep.inputs.manifest_build import build_manifest, source_fingerprint


def reference_leaks(rows: list[ManifestRow]) -> list[Leak]:
    """The in-memory algorithm the manifest step used before: group by hash in a dict."""
    groups: dict[str, list[ManifestRow]] = defaultdict(list)
    for row in rows:
        if row.hash:
            groups[row.hash].append(row)
    leaks = []
    for digest in sorted(groups):
        members = groups[digest]
        if len({r.label for r in members}) > 1:
            leaks.append(Leak(digest, "label", tuple(members)))
        elif len({r.split for r in members}) > 1:
            leaks.append(Leak(digest, "split", tuple(members)))
    return leaks


def test_leaks_with_tiny_runs_equal_the_in_memory_result(tiny_runs: int):
    rows = sorted(random_rows(300, seed=1), key=row_sort_key)
    # A group that leaks nothing (one split, one label), spread over many runs.
    rows += [ManifestRow(f"/same/{i}.wav", "testing", 1, 1, hash="f" * 32) for i in range(20)]
    # A group in two splits under one label, also longer than a run.
    rows += [ManifestRow(f"/split/{i}.wav", SPLITS[i % 2], 0, 1, hash="e" * 32) for i in range(7)]
    expected = reference_leaks(rows)
    assert {leak.kind for leak in expected} == {"label", "split"}
    assert "f" * 32 not in {leak.hash for leak in expected}
    assert find_leaks(rows) == expected


def test_hashing_streams_in_order_with_a_bounded_window(tmp_path: Path):
    files = [tmp_path / f"{i}.bin" for i in range(300)]
    for i, path in enumerate(files):
        path.write_bytes(bytes([i % 7]) * 100)
    rows = [ManifestRow(str(p), "training", 0, 100) for p in files]
    pulled = 0

    def source():
        nonlocal pulled
        for row in rows:
            pulled += 1
            yield row

    stream = iter_with_hashes(source(), workers=2, window=128)
    first = next(stream)
    assert first.path == rows[0].path and len(first.hash) == 64
    assert pulled <= 128 + 64  # the window plus one batch, not the whole input
    rest = list(stream)
    assert [r.path for r in [first, *rest]] == [r.path for r in rows]
    assert len({r.hash for r in [first, *rest]}) == 7


def write_listing(path: Path, lines: list[str]) -> Path:
    path.write_text("path,split,label\n" + "\n".join(lines) + "\n")
    return path


def test_duplicates_across_run_boundaries_name_both_lines(tiny_runs: int, tmp_path: Path):
    for i in range(12):
        write_audio(tmp_path / f"a{i}.wav", seconds=0.05, seed=i)
    lines = [f"a{i}.wav,train,real" for i in range(12)]
    # Line 15 repeats line 2, and line 16 repeats it as ./a0.wav: several runs apart.
    lines += ["a3.wav,test,fake", "a0.wav,test,fake", "./a0.wav,dev,real"]
    listing = write_listing(tmp_path / "m.csv", lines)
    with pytest.raises(ManifestError) as error:
        read_manifest_csv(listing)
    message = str(error.value)
    assert "3 problem(s)" in message
    assert "line 14: duplicate path 'a3.wav' (first on line 5)" in message
    assert "line 15: duplicate path 'a0.wav' (first on line 2)" in message
    assert "line 16: duplicate path './a0.wav' (first on line 2)" in message
    assert message.index("line 14:") < message.index("line 15:") < message.index("line 16:")


def test_problems_keep_the_first_in_line_order_and_count_all():
    problems = Problems("m.csv")
    for line in reversed(range(2, 40)):  # found out of order, as duplicates are
        problems.add(f"line {line}: bad", at=line)
    with pytest.raises(ManifestError) as error:
        problems.raise_if_any()
    message = str(error.value)
    assert "38 problem(s)" in message and "... and 28 more" in message
    shown = [f"line {line}: bad" for line in range(2, 2 + MAX_LISTED_PROBLEMS)]
    assert message.split("\n  ")[1 : 1 + MAX_LISTED_PROBLEMS] == shown


def test_protocol_duplicates_are_found_across_runs(tiny_runs: int, tmp_path: Path):
    root = tmp_path / "asv5"
    names = [f"T_{i:010d}" for i in range(8)]
    for name in names:
        write_audio(root / "flac_T" / f"{name}.flac", seconds=0.05, fmt="FLAC")
    lines = [f"T_1 {name} F - - - AC3 A05 spoof -" for name in [*names, names[1]]]
    (root / "ASVspoof5.train.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=r"1 file\(s\) listed twice, e.g. \[.*T_0000000001"):
        collect_rows(DatasetConfig("asvspoof5", str(root)))


def test_manifest_is_byte_identical_with_tiny_runs(
    for_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    shutil.copy(for_tree / "training/real/spk1 clip1.wav", for_tree / "testing/real/copy.wav")
    shutil.copy(for_tree / "training/fake/tts_1.wav", for_tree / "training/real/relabelled.wav")
    cfg = DatasetConfig(input_dir=str(for_tree))
    build_manifest(tmp_path / "big" / "m.csv", cfg, leakage_path=tmp_path / "big" / "leaks.csv")
    monkeypatch.setattr(extsort, "RUN_SIZE", 2)
    build_manifest(tmp_path / "tiny" / "m.csv", cfg, leakage_path=tmp_path / "tiny" / "leaks.csv")
    for name in ("m.csv", "leaks.csv"):
        assert (tmp_path / "tiny" / name).read_bytes() == (tmp_path / "big" / name).read_bytes()
    assert len((tmp_path / "big" / "leaks.csv").read_text().splitlines()) == 5
    assert not spill_dirs(tmp_path / "tiny")


def test_fingerprint_follows_content_not_listing_order(tmp_path: Path):
    for i in range(4):
        write_audio(tmp_path / f"a{i}.wav", seconds=0.05, seed=i)
    lines = [f"a{i}.wav,train,{'real' if i % 2 else 'fake'}" for i in range(4)]

    def fingerprint(listing: list[str]) -> str:
        return source_fingerprint(DatasetConfig("csv", listing=str(write_listing(
            tmp_path / "m.csv", listing))))  # fmt: skip

    original = fingerprint(lines)
    assert fingerprint(lines) == original
    assert fingerprint(list(reversed(lines))) == original
    assert fingerprint(lines[:3]) != original  # removed
    assert fingerprint([*lines[:3], "a3.wav,train,fake"]) != original  # relabelled
    write_audio(tmp_path / "a4.wav", seconds=0.05, seed=9)
    assert fingerprint([*lines, "a4.wav,test,real"]) != original  # added
    write_audio(tmp_path / "a0.wav", seconds=0.07, seed=5)
    assert fingerprint(lines) != original  # replaced


def _same_times(path: Path, like: os.stat_result) -> None:
    os.utime(path, ns=(like.st_atime_ns, like.st_mtime_ns))


def test_fingerprint_sees_a_file_rewritten_with_its_size_and_time(tmp_path: Path):
    """``cat other > file; touch -r old file`` keeps size and modification time: the change
    time (and, for a file renamed over it, the inode) still tell."""
    victim, other = tmp_path / "corpus" / "a.wav", tmp_path / "other.wav"
    write_audio(victim, seconds=0.05, seed=1)
    write_audio(other, seconds=0.05, seed=2)
    before = victim.stat()
    write_listing(tmp_path / "m.csv", ["corpus/a.wav,train,real"])
    cfg = DatasetConfig("csv", listing=str(tmp_path / "m.csv"))
    original = source_fingerprint(cfg)
    assert source_fingerprint(cfg) == original  # reading changes nothing

    time.sleep(0.01)  # a change time the file system can tell from the first one
    victim.write_bytes(other.read_bytes())  # in place: same inode
    _same_times(victim, before)
    assert victim.stat().st_size == before.st_size
    rewritten = source_fingerprint(cfg)
    assert rewritten != original

    replacement = tmp_path / "corpus" / "b.wav"
    write_audio(replacement, seconds=0.05, seed=3)
    _same_times(replacement, before)
    os.replace(replacement, victim)  # renamed over it: a new inode
    assert source_fingerprint(cfg) not in (original, rewritten)
