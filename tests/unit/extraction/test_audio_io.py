"""extraction/audio_io: which decoder reads what, the limits both decoders share (header checks,
read limits), and the conversions every read goes through (PCM to float, mixing to mono)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from encoders import needs_encoders, run
from helpers import REPO, write_audio

from fraudprep.extraction.audio_io import (
    FFMPEG,
    LIBSNDFILE,
    AudioError,
    _read_float32,
    load_mono,
    mix_to_mono,
)

RATE = 16000

needs_ffmpeg = needs_encoders()  # the tests that encode or decode through FFmpeg


def ffmpeg_tone(path: Path, seconds: float, rate: int, *codec: str, video: bool = False) -> Path:
    """A speech-band tone written by the ffmpeg CLI (optionally after a video stream)."""
    inputs = ["-f", "lavfi", "-i", "testsrc=size=32x24:rate=5"] if video else []
    inputs += ["-f", "lavfi", "-i", f"sine=frequency=220:sample_rate={rate}:duration={seconds}"]
    maps = ["-map", "0:v", "-map", "1:a", "-c:v", "mpeg4"] if video else []
    run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *maps, *codec, "-shortest", path])
    return path


def patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    result = bytearray(data)
    result[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return bytes(result)


@needs_ffmpeg
def test_rates_below_2khz_and_zero_channels_fail_with_a_reason(tmp_path: Path):
    wav = write_audio(tmp_path / "source.wav").read_bytes()
    low = tmp_path / "low-rate.wav"
    low.write_bytes(patched(patched(wav, 24, "<I", 1000), 28, "<I", 2000))  # rate, byte rate
    with pytest.raises(AudioError, match="implausible sample rate 1000 Hz"):
        load_mono(str(low), RATE, 60)
    no_channels = tmp_path / "no-channels.wav"
    no_channels.write_bytes(patched(wav, 22, "<H", 0))
    with pytest.raises(AudioError) as raised:
        load_mono(str(no_channels), RATE, 60)
    assert not str(raised.value).startswith("unexpected")


@needs_ffmpeg
def test_ffmpeg_header_checks_apply_too(tmp_path: Path):
    path = ffmpeg_tone(tmp_path / "low.mkv", 1.0, 1000, "-c:a", "pcm_s16le")
    with pytest.raises(AudioError, match="implausible sample rate 1000 Hz"):
        load_mono(str(path), RATE, 60)


@needs_ffmpeg
def test_first_audio_stream_of_a_video_file(tmp_path: Path):
    path = ffmpeg_tone(tmp_path / "clip.mp4", 2.0, 48000, "-c:a", "aac", video=True)
    audio = load_mono(str(path), RATE, 60, 0.1)
    assert audio.decoder == FFMPEG and audio.format == "mov/aac"
    assert audio.duration == pytest.approx(2.0, abs=0.05)
    # A 220 Hz tone: the decoded audio's strongest frequency.
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert np.argmax(spectrum) * RATE / len(audio.samples) == pytest.approx(220, abs=2)


@needs_ffmpeg
def test_video_without_audio_is_a_failure(tmp_path: Path):
    path = tmp_path / "silent-film.mp4"
    run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x24:rate=5",
         "-t", "1", "-c:v", "mpeg4", str(path)])  # fmt: skip
    with pytest.raises(AudioError, match=r"not audio.*no audio stream"):
        load_mono(str(path), RATE, 60)


@needs_ffmpeg
def test_ffmpeg_stops_at_max_input_seconds(tmp_path: Path):
    path = ffmpeg_tone(tmp_path / "long.m4a", 30.0, 22050, "-c:a", "aac")
    audio = load_mono(str(path), RATE, max_seconds=5.0)
    assert len(audio.samples) == 5 * RATE
    assert audio.duration == pytest.approx(30.0, abs=0.05)  # from the container, not decoded


@needs_ffmpeg
def test_ffmpeg_short_files_fail_like_libsndfile_ones(tmp_path: Path):
    path = ffmpeg_tone(tmp_path / "blip.m4a", 0.05, 16000, "-c:a", "aac")
    with pytest.raises(AudioError, match="too short"):
        load_mono(str(path), RATE, 60, min_seconds=0.1)


PEAK_SCRIPT = """
import sys
from fraudprep.extraction.audio_io import load_mono
from fraudprep.base.memory import peak_rss_mb
load_mono(sys.argv[1], 16000, max_seconds=60)
print(peak_rss_mb(), "av" in sys.modules)
"""


def decode_in_fresh_process(path: Path) -> tuple[float, bool]:
    """(peak RSS in MB, whether PyAV was imported) of one process decoding ``path``."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    peak, imported = done.stdout.split()
    return float(peak), imported == "True"


@needs_ffmpeg
def test_an_hour_long_file_decodes_in_the_memory_of_a_short_one(tmp_path: Path):
    """Decoding stops at max_input_seconds: an hour of 16 kHz audio (230 MB as float32) costs
    no more memory than two minutes of it."""
    codec = ["-c:a", "pcm_s16le"]  # in Matroska: FFmpeg's path, and quick to write
    hour = ffmpeg_tone(tmp_path / "hour.mkv", 3600, RATE, *codec)
    minutes = ffmpeg_tone(tmp_path / "minutes.mkv", 120, RATE, *codec)
    peak_hour, _ = decode_in_fresh_process(hour)
    peak_minutes, _ = decode_in_fresh_process(minutes)
    assert peak_hour - peak_minutes < 20, (peak_hour, peak_minutes)


@needs_ffmpeg
def test_pyav_is_imported_only_for_files_that_need_it(tmp_path: Path):
    wav = write_audio(tmp_path / "plain.wav")
    _, imported = decode_in_fresh_process(wav)
    assert not imported
    assert load_mono(str(wav), RATE, 60).decoder == LIBSNDFILE
    m4a = ffmpeg_tone(tmp_path / "tone.m4a", 1.0, RATE, "-c:a", "aac")
    _, imported = decode_in_fresh_process(m4a)
    assert imported


@needs_ffmpeg
@pytest.mark.parametrize("peak", [1.5, 3.4])
def test_ffmpeg_float_audio_past_full_scale_is_clipped_or_refused(tmp_path: Path, peak: float):
    """Float PCM in Matroska (FFmpeg's path) goes through the same full-scale check."""
    t = np.arange(RATE) / RATE
    signal = (peak * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    source = tmp_path / "float.wav"
    sf.write(source, signal, RATE, subtype="FLOAT")
    path = tmp_path / "float.mkv"
    run(["ffmpeg", "-nostdin", "-v", "error", "-i", source, "-c:a", "pcm_f32le", path])
    if peak > 2:
        with pytest.raises(AudioError, match=r"samples far beyond full scale: peak 3\.4"):
            load_mono(str(path), RATE, 60)
        return
    audio = load_mono(str(path), RATE, 60)
    assert audio.decoder == FFMPEG and np.abs(audio.samples).max() == 1.0
    assert audio.overs == np.count_nonzero(np.abs(signal) > 1)


@pytest.mark.parametrize("channels", [1, 2, 8])
def test_mix_to_mono_is_the_channel_mean(channels: int):
    rng = np.random.default_rng(channels)
    samples = rng.uniform(-1, 1, size=(5000, channels)).astype(np.float32)
    mono = mix_to_mono(samples)
    assert mono.dtype == np.float32 and mono.shape == (5000,)
    np.testing.assert_allclose(mono, samples.mean(axis=1, dtype=np.float64), atol=1e-6)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_pcm16_read_matches_libsndfile_float_conversion(tmp_path, suffix: str):
    rng = np.random.default_rng(7)
    pcm = rng.integers(-32768, 32767, size=(4000, 2), dtype=np.int16)
    pcm[:4] = [[-32768, 32767], [0, 1], [-1, 2], [16384, -16384]]  # the extremes too
    path = tmp_path / f"pcm16{suffix}"
    sf.write(path, pcm, 16000, subtype="PCM_16")
    expected, _ = sf.read(path, dtype="float32", always_2d=True)
    with sf.SoundFile(path) as audio_file:
        np.testing.assert_array_equal(_read_float32(audio_file, 4000), expected)
