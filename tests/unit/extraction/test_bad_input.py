"""Every kind of bad file becomes a failure row with a plain reason; valid oddities pass."""

from __future__ import annotations

import csv
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from helpers import REPO, run_steps, speechlike, write_audio

import fraudprep
from fraudprep.base.layout import FAILURES, read_chunk_metadata
from fraudprep.extraction.audio_io import AudioError, load_mono
from fraudprep.extraction.extract import OutputWriteError, ReadLimits, extract_chunk
from fraudprep.inputs.chunks import write_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest
from fraudprep.run.settings import resolve_model_settings

RATE = 16000


def wav_bytes(tmp_path: Path, **kwargs) -> bytes:
    return write_audio(tmp_path / "_source.wav", **kwargs).read_bytes()


def patched_rate(data: bytes, rate: int) -> bytes:
    patched = bytearray(data)
    patched[24:28] = struct.pack("<I", rate)
    return bytes(patched)


def riff_wav(
    pcm: bytes,
    tag: int = 1,
    bits: int = 16,
    extension: bytes = b"",
    claimed_data: int | None = None,
) -> bytes:
    """A mono 16 kHz RIFF/WAVE file built by hand, as the writers of odd files leave them: a
    fmt chunk (``extension`` after its 16 bytes) whose format tag and bits per sample may be
    anything, then ``pcm`` in a data chunk whose size (and the RIFF size with it) is
    ``claimed_data`` if given."""
    fmt = struct.pack("<HHIIHH", tag, 1, RATE, RATE * 2, 2, bits) + extension
    data_size = len(pcm) if claimed_data is None else claimed_data
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", data_size) + pcm
    riff_size = min(len(body) - len(pcm) + data_size, 0xFFFFFFFF)
    return b"RIFF" + struct.pack("<I", riff_size) + body


def extensible(subformat: bytes) -> bytes:
    """The 24 bytes WAVE_FORMAT_EXTENSIBLE adds to a fmt chunk: 16 valid bits, mono."""
    return struct.pack("<HHI", 22, 16, 0x4) + subformat


# A GUID no codec has (KSDATAFORMAT_SUBTYPE_PCM's differ only in the first bytes).
UNKNOWN_SUBFORMAT = bytes.fromhex("3f7c5a1e9b2d4c4e8f1a6b7c8d9e0f11")


def pcm16(seconds: float) -> bytes:
    return (speechlike(seconds, RATE) * 32767).astype("<i2").tobytes()


def make_bad_files(directory: Path, tmp_path: Path) -> dict[str, str]:
    """Write one file per trap; return name -> expected reason fragment."""
    directory.mkdir(parents=True, exist_ok=True)
    good = wav_bytes(tmp_path, seconds=1.0)
    signal = speechlike(1.0, RATE)
    header = good[:44]
    cases = {
        "zero bytes.wav": (b"", "empty file (0 bytes)"),
        "truncated.wav": (good[: len(good) // 2], "truncated: the header promises 16000 frames"),
        "random.wav": (np.random.default_rng(0).bytes(4000), "not audio"),
        "text.flac": (b"this is a text file, not FLAC\n" * 20, "not audio"),
        "header-only.wav": (header[:40] + struct.pack("<I", 0), "no audio samples (header only)"),
        "huge-rate.wav": (patched_rate(good, 1_000_000), "implausible sample rate 1000000 Hz"),
        "zero-rate.wav": (patched_rate(good, 0), "implausible sample rate 0 Hz"),
    }
    expected = {}
    for name, (content, reason) in cases.items():
        (directory / name).write_bytes(content)
        expected[name] = reason
    sf.write(directory / "one-sample.wav", signal[:1], RATE, subtype="PCM_16")
    expected["one-sample.wav"] = "too short: 1 samples"
    with_nan = signal.copy()
    with_nan[100] = np.nan
    sf.write(directory / "nan.wav", with_nan, RATE, subtype="FLOAT")
    expected["nan.wav"] = "non-finite samples"
    sf.write(directory / "flac-cut.flac", signal, RATE)
    flac = (directory / "flac-cut.flac").read_bytes()
    (directory / "flac-cut.flac").write_bytes(flac[: len(flac) // 2])
    expected["flac-cut.flac"] = "truncated or corrupt audio data"
    (directory / "folder.wav").mkdir()
    expected["folder.wav"] = "is a directory"
    os.symlink(directory / "does-not-exist.wav", directory / "dangling.wav")
    expected["dangling.wav"] = "dangling symbolic link"
    os.symlink("symlink-loop.wav", directory / "symlink-loop.wav")
    expected["symlink-loop.wav"] = "symlink loop"
    for name, (content, reason) in undecodable_headers().items():
        (directory / name).write_bytes(content)
        expected[name] = reason
    return expected


def undecodable_headers() -> dict[str, tuple[bytes, str]]:
    """WAVs whose stream FFmpeg finds but has no decoder for, and what their reason says."""
    pcm = pcm16(1.0)
    guid = "1e5a7c3f-2d9b-4e4c-8f1a-6b7c8d9e0f11"  # UNKNOWN_SUBFORMAT as a GUID is written
    return {
        "bits_zero.wav": (riff_wav(pcm, bits=0), "WAV header says 0 bits per sample"),
        "unsupported_codec.wav": (
            riff_wav(pcm, tag=0x1234),
            "no decoder for codec: WAV format tag 0x1234",
        ),
        "wav_fmt_extensible_bad.wav": (
            riff_wav(pcm, tag=0xFFFE, extension=extensible(UNKNOWN_SUBFORMAT)),
            f"no decoder for codec: WAVE_FORMAT_EXTENSIBLE subformat GUID {guid}",
        ),
    }


def make_valid_oddities(directory: Path) -> list[str]:
    """Files that look odd but are valid audio and must become samples."""
    signal = speechlike(1.0, RATE)
    names = []
    for name, data, rate, kwargs in [
        ("eight channels.wav", np.tile(signal[:, None], (1, 8)), RATE, {"subtype": "PCM_16"}),
        ("mu-law.wav", signal, 8000, {"subtype": "ULAW"}),
        ("flac inside.wav", signal, RATE, {"format": "FLAC"}),
        ("silent.wav", np.zeros(RATE, np.float32), RATE, {"subtype": "PCM_16"}),
        ("-leading dash.wav", signal, RATE, {"subtype": "PCM_16"}),
        ('quote\'s "and" ünïcödé, comma.wav', signal, RATE, {"subtype": "PCM_16"}),
        ("vorbis.ogg", signal, RATE, {"format": "OGG"}),
        ("mpeg.mp3", signal, RATE, {"format": "MP3"}),
        ("UPPER.FLAC", signal, 44100, {"format": "FLAC"}),
    ]:
        sf.write(directory / name, data, rate, **kwargs)
        names.append(name)
    (directory / "lying_header_13h.wav").write_bytes(lying_header_13h())
    names.append("lying_header_13h.wav")
    os.symlink(directory / "mu-law.wav", directory / "link to mu-law.wav")
    names.append("link to mu-law.wav")
    return names


def lying_header_13h() -> bytes:
    """3.5 s of valid PCM under a header whose data chunk claims 13 hours (libsndfile reads
    the 3.5 s, SoX plays them)."""
    return riff_wav(pcm16(3.5), claimed_data=13 * 3600 * RATE * 2)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> tuple[Path, dict[str, str], list[str]]:
    tmp_path = tmp_path_factory.mktemp("bad")
    tree = tmp_path / "tree"
    expected_failures = make_bad_files(tree / "training" / "fake", tmp_path)
    real_dir = tree / "training" / "real"
    real_dir.mkdir(parents=True)
    valid = make_valid_oddities(real_dir)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    settings = resolve_model_settings({**config, "batch_size": 4}, "unetr")
    out = tmp_path / "out"
    build_manifest(out / "manifest.csv", DatasetConfig(input_dir=str(tree)))
    (chunk,) = write_chunks(out / "manifest.csv", 1000, out / "chunks.csv")
    extract_chunk(out / "manifest.csv", chunk, settings, out / "chunk", ReadLimits(0.1, 60))
    return out / "chunk", expected_failures, valid


def test_each_bad_file_is_a_failure_with_its_reason(extracted):
    chunk_dir, expected, _ = extracted
    with open(chunk_dir / FAILURES, newline="", encoding="utf-8") as handle:
        reasons = {Path(row["path"]).name: row["reason"] for row in csv.DictReader(handle)}
    assert sorted(reasons) == sorted(expected)
    for name, fragment in expected.items():
        assert fragment in reasons[name], (name, reasons[name])


def test_valid_oddities_become_finite_samples(extracted):
    chunk_dir, expected, valid = extracted
    metadata = read_chunk_metadata(chunk_dir)
    sources = [Path(s).name for batch in metadata["batches"] for s in batch["source_files"]]
    assert sorted(sources) == sorted(valid)
    stats = metadata["stats"]
    assert sum(stats["samples"].values()) + sum(stats["failures"].values()) == len(valid) + len(
        expected
    )
    assert stats["channels"]["8"] == 1 and stats["sample_rates"]["8000"] == 2


@pytest.mark.parametrize("name", sorted(undecodable_headers()))
def test_a_codec_no_decoder_reads_is_named_not_an_internal_error(tmp_path: Path, name: str):
    content, reason = undecodable_headers()[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError) as raised:
        load_mono(str(path), RATE, 60)
    assert reason in str(raised.value)


def test_a_symlink_loop_is_not_called_dangling(tmp_path: Path):
    os.symlink("loop-b.wav", tmp_path / "loop-a.wav")
    os.symlink("loop-a.wav", tmp_path / "loop-b.wav")
    with pytest.raises(AudioError, match=r"^symlink loop"):
        load_mono(str(tmp_path / "loop-a.wav"), RATE, 60)


def test_lying_header_decodes_the_audio_it_holds(tmp_path: Path):
    path = tmp_path / "lying_header_13h.wav"
    path.write_bytes(lying_header_13h())
    audio = load_mono(str(path), RATE, 60, 0.1)
    assert audio.duration == 3.5
    expected = np.frombuffer(pcm16(3.5), "<i2").astype(np.float32) / 32768
    np.testing.assert_array_equal(audio.samples, expected)


def test_a_believable_promise_the_file_does_not_keep_is_truncation(tmp_path: Path):
    """A header claiming an hour over 3.5 s is a copy cut short, not a lie."""
    path = tmp_path / "cut.wav"
    path.write_bytes(riff_wav(pcm16(3.5), claimed_data=3600 * RATE * 2))
    with pytest.raises(AudioError, match="truncated: the header promises 57600000 frames"):
        load_mono(str(path), RATE, 60)


def float_wav(path: Path, peak: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """A 32-bit float WAV of speech-like audio whose loudest sample is ``peak``; returns the
    samples as written."""
    signal = speechlike(1.0, rate, seed).astype(np.float64)
    signal = (signal * (peak / np.abs(signal).max())).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, signal, rate, subtype="FLOAT")
    return signal


def test_float_overs_are_clipped_not_rescaled_and_counted(tmp_path: Path):
    written = float_wav(tmp_path / "hot.wav", 1.5)
    audio = load_mono(str(tmp_path / "hot.wav"), RATE, 60)
    beyond = np.abs(written) > 1
    assert audio.overs == np.count_nonzero(beyond) > 0
    np.testing.assert_array_equal(audio.samples[~beyond], written[~beyond])  # level kept
    np.testing.assert_array_equal(audio.samples[beyond], np.sign(written[beyond]))


@pytest.mark.parametrize(("peak", "shown"), [(1e30, "peak 1e+30 (+600.0 dBFS)"), (3.4, "peak 3.4")])
def test_float_samples_far_beyond_full_scale_are_a_failure_naming_the_peak(
    tmp_path: Path, peak: float, shown: str
):
    float_wav(tmp_path / "loud.wav", peak)
    with pytest.raises(AudioError, match=r"samples far beyond full scale") as raised:
        load_mono(str(tmp_path / "loud.wav"), RATE, 60)
    assert shown in str(raised.value)


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_float_samples_past_full_scale_reach_no_statistic(tmp_path: Path, dtype: str):
    """float_1e30.wav once gave `raw` batches of 4.2e29 (with int16, a square wave of
    ±32767), a channel std of 9.3e27 and a peak_dbfs of inf."""
    tree = tmp_path / "tree" / "training"
    for seed, label in enumerate(["real", "real", "fake", "fake"]):
        write_audio(tree / label / f"plain{seed}.wav", seed=seed)
    float_wav(tree / "fake" / "float_1e30.wav", 1e30)
    float_wav(tree / "fake" / "float_3_4.wav", 3.4)
    # Clipped, and resampled to 16 kHz, which overshoots the clipped peaks.
    float_wav(tree / "real" / "hot_44k.wav", 1.9, rate=44100)
    out = tmp_path / "out"
    stats = run_steps(
        out, "raw", DatasetConfig(input_dir=str(tree.parent)), profile_overrides={"dtype": dtype}
    )
    with open(out / "raw" / "failures.csv", newline="", encoding="utf-8") as handle:
        reasons = {Path(row["path"]).name: row["reason"] for row in csv.DictReader(handle)}
    assert sorted(reasons) == ["float_1e30.wav", "float_3_4.wav"]
    assert "peak 1e+30" in reasons["float_1e30.wav"] and "peak 3.4" in reasons["float_3_4.wav"]
    assert stats["clipped_overs"]["training"] == {"real": 1, "fake": 0}
    data, _ = fraudprep.load(out, "raw", "training", as_float=True)
    assert len(data) == 5 and np.abs(data).max() <= 1.0
    normalization = stats["normalization"]
    assert abs(float(normalization["channel_mean"][0])) < 0.05
    assert 0.01 < float(normalization["channel_std"][0]) < 1.0
    with open(out / "raw" / "properties.csv", newline="", encoding="utf-8") as handle:
        peaks = [float(row["peak_dbfs"]) for row in csv.DictReader(handle)]
    assert len(peaks) == 5 and all(math.isfinite(peak) and peak < 1.5 for peak in peaks)


def test_silent_file_gives_zeros(tmp_path: Path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(RATE, np.float32), RATE)
    audio = load_mono(str(path), RATE, 60, 0.1)
    assert not audio.samples.any()


def test_long_files_are_read_only_up_to_the_limit(tmp_path: Path):
    path = write_audio(tmp_path / "long.wav", seconds=30.0, rate=8000)
    audio = load_mono(str(path), RATE, max_seconds=5.0)
    assert len(audio.samples) == 5 * RATE
    assert audio.duration == pytest.approx(30.0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file, so permissions cannot fail")
def test_unreadable_file_reports_permission(tmp_path: Path):
    path = write_audio(tmp_path / "locked.wav")
    path.chmod(0)
    with pytest.raises(AudioError, match="permission denied"):
        load_mono(str(path), RATE, 60)


@pytest.mark.parametrize("storage", ["pickle", "shards"])
def test_disk_full_is_a_clear_error_and_leaves_nothing_partial(
    tiny_disk: Path, tmp_path: Path, caplog, storage: str
):
    """The first batch that does not fit stops the job; it once became a failure of that file
    and then of every later one ("IndexError: index 8 is out of bounds": the batch was never
    emptied), a full disk logged as bad audio."""
    tree = tmp_path / "tree"
    for i in range(12):
        write_audio(tree / "training" / "real" / f"{i}.wav", seconds=1.0, seed=i)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    # 1.2 MB a batch; a tar shard's write fails with the OS error itself
    settings = resolve_model_settings({**config, "batch_size": 2, "format": storage}, "resnet")
    build_manifest(tmp_path / "manifest.csv", DatasetConfig(input_dir=str(tree)))
    (chunk,) = write_chunks(tmp_path / "manifest.csv", 100, tmp_path / "chunks.csv")
    target = tiny_disk / "resnet" / "chunks" / chunk.id
    with pytest.raises(OutputWriteError, match=r"No space left on device.*free disk space"):
        extract_chunk(tmp_path / "manifest.csv", chunk, settings, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    assert "Failed" not in caplog.text
