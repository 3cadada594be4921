"""Decoding with FFmpeg's decoders, through PyAV (imported only when needed): MP3 and
everything libsndfile cannot open (m4a/AAC, mp4/mov/mkv/webm, Opus in WebM, WMA, AMR, AC-3),
and the reason for a file neither decoder reads."""

from __future__ import annotations

from typing import Any

import numpy as np

from fraudprep.extraction.audio_io.decoded import (
    FFMPEG,
    AudioError,
    _check_header,
    _Mono,
    mix_to_mono,
)
from fraudprep.extraction.audio_io.libsndfile import _CannotOpen
from fraudprep.extraction.audio_io.wav import _wav_codec_reason, _wav_format

# Integer sample formats and the divisor that maps them to [-1, 1), as FFmpeg's own
# conversion to float does; unsigned 8-bit is offset by 128 first.
_INTEGER_SCALES = {"s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0, "u8": 128.0}


def frame_to_mono(frame: Any) -> np.ndarray:
    """One decoded audio frame as mono float32, mixed as :func:`mix_to_mono` mixes."""
    if frame.format.name == "fltp":
        return _planar_float_to_mono(frame)
    array = frame.to_ndarray()
    channels = frame.layout.nb_channels
    name = frame.format.name.rstrip("p")  # "fltp" (planar) and "flt" (packed) alike
    if name == "u8":
        array = array.astype(np.float32) - np.float32(128)
    if name in _INTEGER_SCALES:
        array = array.astype(np.float32) * np.float32(1 / _INTEGER_SCALES[name])
    elif array.dtype != np.float32:
        array = array.astype(np.float32)
    # Planar frames are (channels, samples); packed ones are (1, samples * channels).
    by_frame = array.T if frame.format.is_planar else array.reshape(-1, channels)
    return np.ascontiguousarray(mix_to_mono(by_frame))


def _planar_float_to_mono(frame: Any) -> np.ndarray:
    """The format of most of FFmpeg's decoders (MP3, AAC, Vorbis, Opus, AC-3), read from its
    planes directly: ``to_ndarray`` stacks them into a copy first, and costs twice as much."""
    planes = frame.planes
    mono = np.frombuffer(planes[0], np.float32, frame.samples).copy()
    for plane in planes[1:]:
        mono += np.frombuffer(plane, np.float32, frame.samples)
    if len(planes) > 1:
        mono /= np.float32(len(planes))
    return mono


def _no_decoder_reason(path: str, refused: _CannotOpen | None) -> str:
    """Why a file whose audio stream FFmpeg finds has no decoder in FFmpeg: for a WAV, what
    its fmt chunk says (PyAV names no codec it cannot decode); else libsndfile's reason when
    it knew the format."""
    wav = _wav_format(path)
    if wav is not None:
        return _wav_codec_reason(wav)
    if refused is not None and not refused.unrecognised:
        return str(refused)
    return "no decoder for the codec of the file's audio stream (in libsndfile or FFmpeg)"


def _ffmpeg_failure(refused: _CannotOpen | None, error: Exception) -> AudioError:
    """The reason a file neither decoder reads: libsndfile's when it knew the format (its
    reason is more specific), FFmpeg's otherwise."""
    if refused is not None and not refused.unrecognised:
        return AudioError(str(refused))
    return AudioError(
        f"not audio, or a format neither libsndfile nor FFmpeg can read ({_ffmpeg_says(error)})"
    )


def _ffmpeg_says(error: Exception) -> str:
    """FFmpeg's message without the errno and file or function name PyAV adds to it."""
    return getattr(error, "strerror", None) or str(error)


def _decode_with_ffmpeg(path: str, max_seconds: float, refused: _CannotOpen | None) -> _Mono:
    """Decode the first audio stream with FFmpeg: MP3, and whatever libsndfile ``refused``.

    A compressed stream holds no trustworthy length, so the decoder decides: an error before
    any audio is a failure, an error later (a file cut short, a damaged tail) ends the audio.
    """
    import av  # only jobs that meet such a file pay for importing FFmpeg's libraries

    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise _ffmpeg_failure(refused, error) from error
    with container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise _ffmpeg_failure(refused, ValueError("no audio stream"))
        context = stream.codec_context
        if context is None:  # PyAV's sign of a stream FFmpeg has no decoder for
            raise AudioError(_no_decoder_reason(path, refused))
        context.thread_count = 1  # one thread per job, as for numpy (see fraudprep.base.memory)
        rate, channels = context.sample_rate, context.layout.nb_channels
        if not rate or not channels:
            # FFmpeg guessed a demuxer from the extension but found no stream header in it.
            raise _ffmpeg_failure(refused, ValueError("no audio stream header"))
        _check_header(rate, channels)
        max_frames = int(max_seconds * rate)
        parts, decoded = _decode_frames(container, stream, rate, max_frames)
        if decoded >= max_frames:
            frames = max(_stream_frames(container, stream, rate), decoded)
        else:
            frames = decoded
        codec = context.codec.name.removesuffix("float")  # "mp3float" is FFmpeg's MP3 decoder
        file_format = f"{container.format.name.split(',')[0]}/{codec}"
    samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return _Mono(samples, rate, channels, frames, FFMPEG, file_format)


def _decode_frames(container: Any, stream: Any, rate: int, max_frames: int):
    """Mono parts of the stream, up to ``max_frames`` in all; stop early at an error that
    comes after some audio (the decodable part of a damaged file)."""
    import av

    parts: list[np.ndarray] = []
    decoded = 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                if frame.rate != rate:
                    raise AudioError(
                        f"sample rate changes within the stream ({rate} -> {frame.rate} Hz)"
                    )
                mono = frame_to_mono(frame)[: max_frames - decoded]
                parts.append(mono)
                decoded += len(mono)
                if decoded >= max_frames:
                    return parts, decoded
    except av.FFmpegError as error:
        if not decoded:
            raise AudioError(
                f"corrupt audio data: no audio decodes (ffmpeg: {_ffmpeg_says(error)})"
            ) from error
    return parts, decoded


def _stream_frames(container: Any, stream: Any, rate: int) -> int:
    """The stream's length in frames as its container states it (0 when unknown): only
    needed for a file read no further than ``max_seconds``."""
    if stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * rate)
    if container.duration:
        return int(container.duration * rate / 1_000_000)  # AV_TIME_BASE: microseconds
    return 0
