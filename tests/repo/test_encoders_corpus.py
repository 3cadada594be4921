"""The real-encoder corpus (tests/encoders.py) is what it claims to be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from encoders import (
    DAMAGES,
    EncodedFile,
    damaged_files,
    ffmpeg_decode,
    ffprobe_audio,
    needs_encoders,
    real_encoder_files,
)

pytestmark = needs_encoders()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[EncodedFile]:
    return real_encoder_files(tmp_path_factory.mktemp("encoders"))


def test_names_are_unique(corpus: list[EncodedFile]) -> None:
    names = [f.name for f in corpus]
    assert len(names) == len(set(names))


def test_ffprobe_agrees_with_declared_format(corpus: list[EncodedFile]) -> None:
    for f in corpus:
        assert f.path.is_file(), f.name
        assert f.path.suffix == f".{f.container}", f.name
        probed = ffprobe_audio(f.path)
        assert probed == {"codec": f.codec, "sample_rate": f.sample_rate, "channels": f.channels}, (
            f.name
        )


def test_ffmpeg_decodes_every_file(corpus: list[EncodedFile]) -> None:
    for f in corpus:
        audio, rate = ffmpeg_decode(f.path)
        assert audio.dtype == np.float32
        assert audio.shape[1] == f.channels, f.name
        assert rate == f.sample_rate, f.name
        assert len(audio) / rate > 0.5, f.name
        assert np.isfinite(audio).all(), f.name
        assert np.abs(audio).max() > 0.1, f"{f.name} decodes to near silence"
        if f.channels == 2:
            # The stereo sources hold two different recordings, so channel mix-ups show.
            assert not np.allclose(audio[:, 0], audio[:, 1], atol=0.05), f.name


def test_damaged_files(corpus: list[EncodedFile], tmp_path: Path) -> None:
    damaged = damaged_files(corpus, tmp_path)
    assert len(damaged) == 3 * len(corpus) + 3
    for d in damaged:
        data, original = d.path.read_bytes(), d.source.path.read_bytes()
        assert d.path.suffix == d.source.path.suffix
        if d.damage == "cut-middle":
            assert data == original[: len(original) // 2]
        elif d.damage == "garbage-tail":
            assert data[: len(original)] == original and len(data) == len(original) + 4096
        elif d.damage == "zeroed-header":
            assert data[:512] == bytes(512) and data[512:] == original[512:]
        else:
            assert d.damage == "text" and data.startswith(b"<!DOCTYPE html>")
    assert {d.damage for d in damaged} == {*DAMAGES, "text"}
    # Seeded: building again gives the same bytes.
    again = damaged_files(corpus, tmp_path / "again")
    assert [d.path.read_bytes() for d in damaged] == [d.path.read_bytes() for d in again]
