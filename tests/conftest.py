"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build_tree


@pytest.fixture
def for_tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "for")
