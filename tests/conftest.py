"""Shared fixtures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import build_tree


@pytest.fixture
def for_tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "for")


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MB file system, so that writing outputs runs out of space for real."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


@pytest.fixture
def sealable_disk(tmp_path: Path):
    """A file system of its own, and a function that remounts it read-only: root writes
    through any file mode, so a read-only output_dir must be a read-only mount."""
    mount_point = tmp_path / "sealable"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")

    def seal() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)

    yield mount_point, seal
    subprocess.run(["umount", str(mount_point)], check=True)


@pytest.fixture
def tree_with_bad_files(for_tree: Path) -> Path:
    """The FoR tree with two files that fail: a broken header and an empty file."""
    (for_tree / "training" / "real" / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    (for_tree / "testing" / "fake" / "empty.flac").write_bytes(b"")
    return for_tree


@pytest.fixture
def tiny_runs(monkeypatch: pytest.MonkeyPatch) -> int:
    """External sorts in runs of 3 rows: small inputs take the path a million-row one takes."""
    from fraudprep.base import extsort

    monkeypatch.setattr(extsort, "RUN_SIZE", 3)
    monkeypatch.setattr(extsort, "BLOCK", 2)  # runs of several blocks, too
    return 3


@pytest.fixture
def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> list:
    """The matplotlib figures the report modules save while the test runs, in order, each
    still written to its file: a test reads the data a figure shows, not only its pixels."""
    from fraudprep.report import example_figures, job_resources, kit, stats_figures

    figures = []

    def save_png(figure, path):
        figures.append(figure)
        return kit.save_png(figure, path)

    for module in (stats_figures, example_figures, job_resources):
        monkeypatch.setattr(module, "save_png", save_png)
    return figures


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory with the small test tree under corpus/ (see helpers.run_tree)."""
    build_tree(tmp_path / "corpus")
    return tmp_path
