"""Decoding one audio file into a mono float32 signal, or a plain-words reason why not.

Every problem a file can have ends as an :class:`AudioError` whose message is the reason
recorded in the failures table, so one bad file never stops a chunk.
"""

from __future__ import annotations

import os
import re
import struct
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
    if "lost sync" in lowered or "truncat" in lowered:
        return f"truncated or corrupt audio data ({message})"
    if "malformed" in lowered or "error in" in lowered or "sf_info" in lowered:
        return f"corrupt audio header ({message})"
    if "permission" in lowered:
        return "cannot read file: permission denied"
    return f"cannot decode ({message})"


def _wav_header_problem(path: str) -> str | None:
    """Problems libsndfile papers over in a RIFF/WAVE header: a zero sample rate, or a data
    chunk that promises more bytes than the file holds (a truncated download or copy)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        file_size = os.fstat(handle.fileno()).st_size
        block_align = 0
        while chunk := handle.read(8):
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = handle.read(min(size, 16))
                if len(fmt) >= 14:
                    rate, block_align = struct.unpack("<I", fmt[4:8])[0], fmt[12] | fmt[13] << 8
                    if rate == 0:
                        return "implausible sample rate 0 Hz in the header"
                handle.seek(size - len(fmt) + (size & 1), os.SEEK_CUR)
            elif chunk_id == b"data":
                available = file_size - handle.tell()
                # 0 and 0xFFFFFFFF mark streamed WAVs whose writer never knew the size.
                if size not in (0, 0xFFFFFFFF) and size > available and block_align:
                    return (
                        f"truncated: the header promises {size // block_align} frames, "
                        f"the file holds {available // block_align}"
                    )
                return None
            else:
                handle.seek(size + (size & 1), os.SEEK_CUR)
    return None


PCM16_SCALE = np.float32(1 / 32768)  # libsndfile's own int16 -> float normalisation


def _read_float32(audio_file: sf.SoundFile, frames: int) -> np.ndarray:
    """Up to ``frames`` frames as a (frames, channels) float32 array in [-1, 1).

    16-bit PCM (most WAV and FLAC files) is read as int16 and scaled here: the same values as
    libsndfile's float conversion, bit for bit, which costs 0.24 ms of a 0.29 ms WAV read.
    """
    if audio_file.subtype != "PCM_16":
        return audio_file.read(frames, dtype="float32", always_2d=True)
    samples = audio_file.read(frames, dtype="int16", always_2d=True).astype(np.float32)
    samples *= PCM16_SCALE
    return samples


def mix_to_mono(samples: np.ndarray) -> np.ndarray:
    """The mean of the channels of a (frames, channels) float32 array.

    Summed one channel column at a time: ``samples.mean(axis=1)`` reduces along the short
    interleaved axis and costs 2 ms on 4 s of 44.1 kHz stereo; this costs 0.06 ms.
    """
    channels = samples.shape[1]
    if channels == 1:
        return samples[:, 0]
    mono = samples[:, 0].copy()
    for channel in range(1, channels):
        mono += samples[:, channel]
    mono /= np.float32(channels)
    return mono


def load_mono(
    path: str, target_rate: int, max_seconds: float, min_seconds: float = 0.0
) -> DecodedAudio:
    """Read at most ``max_seconds`` of ``path``, mix to mono, resample to ``target_rate``."""
    _check_entry(path)
    problem = _wav_header_problem(path)
    if problem:
        raise AudioError(problem)
    try:
        with sf.SoundFile(path) as audio_file:
            rate, channels, frames = audio_file.samplerate, audio_file.channels, audio_file.frames
            if not 0 < rate <= MAX_SAMPLE_RATE:
                raise AudioError(f"implausible sample rate {rate} Hz in the header")
            if frames <= 0:
                raise AudioError("no audio samples (header only)")
            wanted = min(frames, int(max_seconds * rate))
            samples = _read_float32(audio_file, wanted)
            if len(samples) < wanted:
                raise AudioError(
                    f"truncated: the header promises {frames} frames, only {len(samples)} decode"
                )
    except AudioError:
        raise
    except (RuntimeError, sf.LibsndfileError, ValueError) as error:
        raise AudioError(_open_reason(error)) from error
    if len(samples) == 0:
        raise AudioError("no audio samples could be decoded")
    duration = frames / rate
    if duration < min_seconds:
        raise AudioError(
            f"too short: {frames} samples, {duration:.4g} s (minimum is {min_seconds} s)"
        )
    if not np.isfinite(samples).all():
        raise AudioError("non-finite samples (NaN or infinity)")
    mono = mix_to_mono(samples)
    if rate != target_rate:
        mono = soxr.resample(mono, rate, target_rate, quality="HQ").astype(np.float32, copy=False)
    return DecodedAudio(np.ascontiguousarray(mono), target_rate, rate, channels, duration)
