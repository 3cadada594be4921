"""Decoding one audio file into a mono float32 signal, or a plain-words reason why not.

Two decoders: libsndfile (the soundfile wheel, :mod:`.libsndfile`) is the fast path for WAV,
FLAC, Ogg and the other formats it reads; FFmpeg's decoders (PyAV, imported only when needed,
:mod:`.ffmpeg`) take MP3 and everything libsndfile cannot open (m4a/AAC, mp4/mov/mkv/webm,
Opus in WebM, WMA, AMR, AC-3). What they share is in :mod:`.decoded`; what we read of a WAV
header ourselves in :mod:`.wav`.

This module checks the file, chooses the decoder, checks what it gives for both, and
resamples.

Every problem a file can have ends as an :class:`AudioError` whose message is the reason
recorded in the failures table, so one bad file never stops a chunk.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os

import numpy as np
import soxr

from fraudprep.extraction.audio_io.decoded import (
    FFMPEG,
    LIBSNDFILE,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    AudioError,
    DecodedAudio,
    _Mono,
    mix_to_mono,
)
from fraudprep.extraction.audio_io.ffmpeg import _decode_with_ffmpeg, frame_to_mono
from fraudprep.extraction.audio_io.libsndfile import _CannotOpen, _decode_with_libsndfile
from fraudprep.extraction.audio_io.libsndfile import (
    _read_float32 as _read_float32,  # tests/unit/extraction/test_audio_io.py imports it here
)
from fraudprep.extraction.audio_io.wav import _wav_header_problem

__all__ = [
    "FFMPEG",
    "FFMPEG_FIRST_EXTENSIONS",
    "LIBSNDFILE",
    "MAX_FLOAT_PEAK",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "AudioError",
    "DecodedAudio",
    "decode_mono",
    "frame_to_mono",
    "load_mono",
    "mix_to_mono",
    "resample",
]

# Files FFmpeg decodes whole where libsndfile would not (see _decode_with_libsndfile): asking
# libsndfile first only costs an open, and its MP3 decoder's warnings on stderr.
FFMPEG_FIRST_EXTENSIONS = (".mp3",)

# Float formats (float WAV, and the float output of lossy decoders) can hold samples past full
# scale. Up to this peak (+6 dBFS) they are overs, a hot mix or a codec's overshoot, and are
# clipped to [-1, 1], as int16 output or any player would: the level of everything below full
# scale is kept (rescaling would make the whole file quieter by its loudest sample, a level
# no other file has) and the overs are counted. Beyond it the file is a failure: no mix is
# 6 dB over, such values (1e30) come from a broken writer, and would swamp every statistic.
MAX_FLOAT_PEAK = 2.0


def _check_entry(path: str) -> None:
    try:
        os.stat(path)
    except OSError as error:
        raise AudioError(_entry_reason(path, error)) from error
    if os.path.isdir(path):
        raise AudioError("is a directory, not an audio file")
    if not os.path.isfile(path):
        raise AudioError("not a regular file")
    if os.path.getsize(path) == 0:
        raise AudioError("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioError("cannot read file: permission denied")


def _entry_reason(path: str, error: OSError) -> str:
    """Why ``path`` cannot be opened at all, from the error of following it: a link that
    points nowhere and one that points back at itself both fail ``os.path.exists``, but call
    for different fixes."""
    if error.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        return "dangling symbolic link" if os.path.lexists(path) else "file does not exist"
    if error.errno == errno.EACCES:
        return "cannot read file: permission denied"
    return f"cannot open file ({os.strerror(error.errno or 0)})"


def load_mono(
    path: str, target_rate: int, max_seconds: float, min_seconds: float = 0.0
) -> DecodedAudio:
    """Read at most ``max_seconds`` of ``path``, mix to mono, resample to ``target_rate``."""
    return resample(decode_mono(path, max_seconds, min_seconds), target_rate)


def decode_mono(path: str, max_seconds: float, min_seconds: float = 0.0) -> DecodedAudio:
    """Read at most ``max_seconds`` of ``path`` and mix it to mono, at the file's own rate;
    one decode serves every model's rate (see :func:`resample`)."""
    _check_entry(path)
    problem = _wav_header_problem(path)
    if problem:
        raise AudioError(problem)
    decoded = None
    if not path.lower().endswith(FFMPEG_FIRST_EXTENSIONS):
        try:
            decoded = _decode_with_libsndfile(path, max_seconds)
        except _CannotOpen as refused:
            decoded = _decode_with_ffmpeg(path, max_seconds, refused)
    if decoded is None:
        decoded = _decode_with_ffmpeg(path, max_seconds, None)
    return _checked(decoded, min_seconds)


def _checked(decoded: _Mono, min_seconds: float) -> DecodedAudio:
    """The checks that both decoders' output goes through."""
    if len(decoded.samples) == 0:
        raise AudioError("no audio samples could be decoded")
    duration = decoded.frames / decoded.rate
    if duration < min_seconds:
        raise AudioError(
            f"too short: {decoded.frames} samples, {duration:.4g} s (minimum is {min_seconds} s)"
        )
    samples, overs = _within_full_scale(decoded.samples)
    return DecodedAudio(
        np.ascontiguousarray(samples),
        decoded.rate,
        decoded.rate,
        decoded.channels,
        duration,
        decoded.decoder,
        decoded.format,
        overs,
    )


def _within_full_scale(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """``samples`` in [-1, 1] and how many were clipped to it; an error for non-finite
    samples or a peak above MAX_FLOAT_PEAK. Checked after mixing, on what the features see:
    a NaN or infinity in any channel is still one in the mean."""
    # Two reductions instead of np.isfinite(...).all(): no temporary array, and NaN and
    # infinity propagate through max and min.
    high, low = float(samples.max()), float(samples.min())
    if not (math.isfinite(high) and math.isfinite(low)):
        raise AudioError("non-finite samples (NaN or infinity)")
    peak = max(high, -low)
    if peak <= 1.0:
        return samples, 0
    if peak > MAX_FLOAT_PEAK:
        raise AudioError(
            f"samples far beyond full scale: peak {peak:.4g} ({20 * math.log10(peak):+.1f} "
            f"dBFS); float audio up to {MAX_FLOAT_PEAK:g} (+6 dBFS) is clipped, beyond is refused"
        )
    overs = int(np.count_nonzero(np.abs(samples) > 1.0))
    return np.clip(samples, -1.0, 1.0), overs


def resample(audio: DecodedAudio, target_rate: int) -> DecodedAudio:
    """``audio`` at ``target_rate`` (soxr, high quality); itself if already there."""
    if audio.sample_rate == target_rate:
        return audio
    samples = soxr.resample(audio.samples, audio.sample_rate, target_rate, quality="HQ")
    return dataclasses.replace(
        audio,
        samples=np.ascontiguousarray(samples.astype(np.float32, copy=False)),
        sample_rate=target_rate,
    )
