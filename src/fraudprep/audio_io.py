"""Decoding one audio file into a mono float32 signal, or a plain-words reason why not.

Every problem a file can have ends as an :class:`AudioError` whose message is the reason
recorded in the failures table, so one bad file never stops a chunk.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

MAX_SAMPLE_RATE = 384_000


class AudioError(Exception):
    """A file that cannot become a sample; ``str(error)`` is the reason users read."""


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # mono float32 at ``sample_rate``
    sample_rate: int  # the rate of ``samples`` (after any resampling)
    original_sample_rate: int
    channels: int
    duration: float  # seconds of audio in the file, before any cut


def _check_entry(path: str) -> None:
    if not os.path.lexists(path):
        raise AudioError("file does not exist")
    if not os.path.exists(path):
        raise AudioError("dangling symbolic link")
    if os.path.isdir(path):
        raise AudioError("is a directory, not an audio file")
    if not os.path.isfile(path):
        raise AudioError("not a regular file")
    if os.path.getsize(path) == 0:
        raise AudioError("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioError("cannot read file: permission denied")


def _open_reason(error: Exception) -> str:
    # libsndfile's messages start with "Error opening '<path>': "; the path is in its own column.
    message = re.sub(r"^Error opening .*?: ", "", str(error))
    lowered = message.lower()
    if "format not recognised" in lowered or "unknown format" in lowered:
        return f"not audio, or a format libsndfile cannot read ({message})"
    if "unsupported" in lowered or "codec" in lowered or "encoding" in lowered:
        return f"unsupported codec ({message})"
    if "malformed" in lowered or "error in" in lowered:
        return f"corrupt audio header ({message})"
    if "permission" in lowered:
        return "cannot read file: permission denied"
    return f"cannot decode ({message})"


def load_mono(
    path: str, target_rate: int, max_seconds: float, min_seconds: float = 0.0
) -> DecodedAudio:
    """Read at most ``max_seconds`` of ``path``, mix to mono, resample to ``target_rate``."""
    _check_entry(path)
    try:
        with sf.SoundFile(path) as audio_file:
            rate, channels, frames = audio_file.samplerate, audio_file.channels, audio_file.frames
            if not 0 < rate <= MAX_SAMPLE_RATE:
                raise AudioError(f"implausible sample rate {rate} Hz in the header")
            if frames <= 0:
                raise AudioError("no audio samples (header only)")
            wanted = min(frames, int(max_seconds * rate))
            samples = audio_file.read(wanted, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (RuntimeError, sf.LibsndfileError, ValueError) as error:
        raise AudioError(_open_reason(error)) from error
    if len(samples) == 0:
        raise AudioError("no audio samples could be decoded")
    duration = frames / rate
    if duration < min_seconds:
        raise AudioError(f"too short: {duration:.3f} s (minimum is {min_seconds} s)")
    if not np.isfinite(samples).all():
        raise AudioError("non-finite samples (NaN or infinity)")
    mono = samples.mean(axis=1, dtype=np.float32) if channels > 1 else samples[:, 0]
    if rate != target_rate:
        mono = soxr.resample(mono, rate, target_rate, quality="HQ").astype(np.float32, copy=False)
    return DecodedAudio(np.ascontiguousarray(mono), target_rate, rate, channels, duration)
