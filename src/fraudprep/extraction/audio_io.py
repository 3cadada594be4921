"""Decoding one audio file into a mono float32 signal, or a plain-words reason why not.

Two decoders: libsndfile (the soundfile wheel) is the fast path for WAV, FLAC, Ogg and the
other formats it reads; FFmpeg's decoders (PyAV, imported only when needed) take MP3 and
everything libsndfile cannot open (m4a/AAC, mp4/mov/mkv/webm, Opus in WebM, WMA, AMR, AC-3).

Every problem a file can have ends as an :class:`AudioError` whose message is the reason
recorded in the failures table, so one bad file never stops a chunk.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import re
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import soundfile as sf
import soxr

# Rates outside this range cannot hold speech (below 2 kHz not even telephone speech's
# fundamental band survives) or come from a corrupt header.
MIN_SAMPLE_RATE = 2_000
MAX_SAMPLE_RATE = 384_000
LIBSNDFILE = "libsndfile"
FFMPEG = "ffmpeg"

# libsndfile formats whose frame count is not exact: Ogg's comes from its last page and a
# cut file simply holds fewer pages, so what decodes is the file. (MP3, whose count
# libsndfile estimates and then never reads past, goes to FFmpeg instead.) Every other
# libsndfile format states its length exactly, and decoding fewer frames means truncation.
INEXACT_LENGTH_FORMATS = frozenset({"OGG"})


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


class AudioError(Exception):
    """A file that cannot become a sample; ``str(error)`` is the reason users read."""


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # mono float32 at ``sample_rate``
    sample_rate: int  # the rate of ``samples`` (after any resampling)
    original_sample_rate: int
    channels: int
    duration: float  # seconds of audio in the file, before any cut
    decoder: str = LIBSNDFILE  # LIBSNDFILE or FFMPEG
    format: str = ""  # "container/codec" as the decoder names them, e.g. "wav/pcm_16", "mov/aac"
    overs: int = 0  # samples past full scale (up to MAX_FLOAT_PEAK) clipped to [-1, 1]


@dataclass(frozen=True)
class _Mono:
    """What a decoder gives before the checks and the resampling both decoders share."""

    samples: np.ndarray  # mono float32 at ``rate``, at most the requested seconds
    rate: int
    channels: int
    frames: int  # frames in the file: from an exact header, or as many as decoded
    decoder: str
    format: str


# Reasons in which libsndfile recognised the format and found it broken: more telling than
# FFmpeg's when FFmpeg cannot read the file either. Other refusals ("format not recognised",
# or the "not a regular file" libsndfile says of some text files) mean it never knew it.
FORMAT_KNOWN_REASONS = ("unsupported codec", "truncated", "corrupt audio header")


class _CannotOpen(Exception):
    """libsndfile cannot open the file: FFmpeg gets its turn. ``str`` is libsndfile's reason."""

    def __init__(self, reason: str, unrecognised: bool) -> None:
        super().__init__(reason)
        self.unrecognised = unrecognised  # the format itself is unknown to libsndfile


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


def _check_header(rate: int, channels: int) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"implausible sample rate {rate} Hz in the header "
            f"(speech audio is {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)"
        )
    if channels < 1:
        raise AudioError(f"no audio channels ({channels} in the header)")


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


# A data chunk promising more than this over a shorter file is not believed: no speech clip
# lasts hours, so such a length is a writer's placeholder for "unknown" or a lie, as in a
# 3.5 s file whose header claims 13 h. libsndfile and SoX read what the file holds, and so do
# we; a shorter promise the file does not keep is a cut-short copy (see _wav_header_problem).
TRUSTED_WAV_SECONDS = 3600

# The WAVE_FORMAT_EXTENSIBLE tag, and the tail every subformat GUID of a classic format tag
# ends with (KSDATAFORMAT_SUBTYPE_*: the tag in the first two bytes, then this).
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_SUBFORMAT_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_PCM_OR_FLOAT_TAGS = (0x0001, 0x0003)  # the tags whose bits per sample decide the decoding


@dataclass(frozen=True)
class _WavFormat:
    """What a WAV's fmt chunk says: enough to name a codec neither decoder reads."""

    tag: int
    bits: int
    subformat: bytes | None  # the GUID of a WAVE_FORMAT_EXTENSIBLE header (16 bytes)


def _riff_chunks(handle: IO[bytes]) -> Iterator[tuple[bytes, int]]:
    """(id, size) of each chunk of a RIFF/WAVE file, with ``handle`` at the chunk's body when
    each is yielded; nothing for other files. Stops at the first incomplete chunk header."""
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    while len(chunk := handle.read(8)) == 8:
        size = struct.unpack("<I", chunk[4:])[0]
        body = handle.tell()
        yield chunk[:4], size
        handle.seek(body + size + (size & 1))


def _wav_header_problem(path: str) -> str | None:
    """Problems libsndfile papers over in a RIFF/WAVE header: a zero sample rate, or a data
    chunk that promises more bytes than the file holds (a truncated download or copy)."""
    with open(path, "rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        byte_rate = block_align = 0
        for chunk_id, size in _riff_chunks(handle):
            if chunk_id == b"fmt ":
                fmt = handle.read(min(size, 16))
                if len(fmt) >= 14:
                    rate, byte_rate = struct.unpack("<II", fmt[4:12])
                    block_align = fmt[12] | fmt[13] << 8
                    if rate == 0:
                        return "implausible sample rate 0 Hz in the header"
            elif chunk_id == b"data":
                available = file_size - handle.tell()
                if size > available and block_align and _believed(size, byte_rate):
                    return (
                        f"truncated: the header promises {size // block_align} frames, "
                        f"the file holds {available // block_align}"
                    )
                return None
    return None


def _believed(data_size: int, byte_rate: int) -> bool:
    """Whether a data chunk's size is a length its writer knew: not one of the markers of
    streamed WAVs (0 and 0xFFFFFFFF), nor a claim of more than TRUSTED_WAV_SECONDS."""
    if data_size in (0, 0xFFFFFFFF):
        return False
    return not byte_rate or data_size / byte_rate <= TRUSTED_WAV_SECONDS


def _wav_format(path: str) -> _WavFormat | None:
    """The first fmt chunk of a RIFF/WAVE file; None for other files or a short chunk."""
    with open(path, "rb") as handle:
        for chunk_id, size in _riff_chunks(handle):
            if chunk_id != b"fmt ":
                continue
            fmt = handle.read(min(size, 40))
            if len(fmt) < 16:
                return None
            tag, bits = struct.unpack("<H", fmt[:2])[0], struct.unpack("<H", fmt[14:16])[0]
            subformat = fmt[24:40] if tag == WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 40 else None
            return _WavFormat(tag, bits, subformat)
    return None


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


def _wav_codec_reason(wav: _WavFormat) -> str:
    tag = wav.tag
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if wav.subformat is None:
            return "corrupt audio header (WAVE_FORMAT_EXTENSIBLE without a subformat GUID)"
        if wav.subformat[2:] != _SUBFORMAT_TAIL:
            guid = uuid.UUID(bytes_le=wav.subformat)
            return f"no decoder for codec: WAVE_FORMAT_EXTENSIBLE subformat GUID {guid} (unknown)"
        tag = struct.unpack("<H", wav.subformat[:2])[0]
    if tag in _PCM_OR_FLOAT_TAGS and wav.bits == 0:
        return "corrupt audio header: WAV header says 0 bits per sample"
    return f"no decoder for codec: WAV format tag 0x{tag:04X}"


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


def _decode_with_libsndfile(path: str, max_seconds: float) -> _Mono | None:
    """Decode with libsndfile; None for a file FFmpeg decodes better (MP3).

    Raises :class:`_CannotOpen` when libsndfile cannot open the file at all.
    """
    try:
        audio_file = sf.SoundFile(path)
    except (RuntimeError, sf.LibsndfileError, ValueError) as error:
        reason = _open_reason(error)
        raise _CannotOpen(reason, not reason.startswith(FORMAT_KNOWN_REASONS)) from error
    with audio_file:
        if audio_file.format == "MP3":
            # libsndfile's MP3 length is an estimate from the first frames' bitrate, and it
            # never reads past it: a VBR file without a Xing header lost 62 % of its audio.
            return None
        rate, channels, frames = audio_file.samplerate, audio_file.channels, audio_file.frames
        _check_header(rate, channels)
        if frames <= 0:
            raise AudioError("no audio samples (header only)")
        wanted = min(frames, int(max_seconds * rate))
        try:
            samples = _read_float32(audio_file, wanted)
        except (RuntimeError, sf.LibsndfileError, ValueError) as error:
            raise AudioError(_open_reason(error)) from error
        if len(samples) < wanted:
            if audio_file.format not in INEXACT_LENGTH_FORMATS:
                raise AudioError(
                    f"truncated: the header promises {frames} frames, only {len(samples)} decode"
                )
            frames = len(samples)
        file_format = f"{audio_file.format}/{audio_file.subtype}".lower()
    return _Mono(mix_to_mono(samples), rate, channels, frames, LIBSNDFILE, file_format)


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


# --- FFmpeg, through PyAV -------------------------------------------------------------------

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
