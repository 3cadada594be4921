"""A RIFF/WAVE header read by us rather than by a decoder: what libsndfile papers over (a
zero sample rate, a data chunk longer than the file), and the codec a WAV names that neither
decoder reads."""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

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
