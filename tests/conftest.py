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
