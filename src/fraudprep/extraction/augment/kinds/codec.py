"""The ``codec`` kind: a copy encoded and decoded in memory with PyAV (FFmpeg's encoders in
its wheel), after resampling with soxr to a rate the encoder takes; the encoder's priming delay
is removed so the copy stays time-aligned with the original.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.config import AugmentationConfigError, parse_range
from fraudprep.extraction.augment.dsp import padded, resample
from fraudprep.extraction.augment.registry import Augmentation, Kind, register


@dataclass(frozen=True)
class CodecSpec:
    """How one codec is run through PyAV."""

    encoder: str  # FFmpeg encoder in PyAV's wheel
    muxer: str  # container written to memory
    demuxer: str  # the same container's reader, named: FFmpeg's probe misses short streams
    rates: tuple[int, ...]  # encoder rates, preferred first when the input rate is not one
    bitrate_kbps: tuple[float, float] | None  # (low, high) the encoder takes; None: fixed
    default_kbps: tuple[float, float] | None
    # Samples of delay (at the encoder's rate) the decoder does not remove itself. MP3 (LAME's
    # gapless header) and Ogg Opus (pre-skip) carry theirs in the container; ADTS has no room
    # for FFmpeg's 1024 AAC priming samples; AMR-NB's encoder looks ahead 40 samples (5 ms),
    # measured by cross-correlation (tests/unit/extraction/test_augment.py checks every
    # codec's alignment).
    delay: int


# MPEG-1 layer III (32-48 kHz), MPEG-2 (16-24 kHz) and MPEG-2.5 (8-12 kHz) bitrates in kbps:
# LAME snaps to one of these, so we snap first and record what was really used.
_MP3_BITRATES = {
    1: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    25: (8, 16, 24, 32, 40, 48, 56, 64),
}
_MP3_RATES = {48000: 1, 44100: 1, 32000: 1, 24000: 2, 22050: 2, 16000: 2, 12000: 25, 11025: 25}
_MP3_RATES[8000] = 25
# AMR-NB's eight modes (kbps); the encoder takes only these.
AMR_MODES_KBPS = (4.75, 5.15, 5.9, 6.7, 7.4, 7.95, 10.2, 12.2)

CODECS: dict[str, CodecSpec] = {
    "mp3": CodecSpec("libmp3lame", "mp3", "mp3", tuple(_MP3_RATES), (8, 320), (16, 128), 0),
    "opus": CodecSpec(
        "libopus", "ogg", "ogg", (48000, 24000, 16000, 12000, 8000), (6, 510), (6, 32), 0
    ),
    "aac": CodecSpec(
        "aac",
        "adts",
        "aac",
        (48000, 44100, 32000, 24000, 22050, 16000, 8000),
        (8, 320),
        (16, 96),
        1024,
    ),
    "alaw": CodecSpec("pcm_alaw", "wav", "wav", (8000,), None, None, 0),
    "mulaw": CodecSpec("pcm_mulaw", "wav", "wav", (8000,), None, None, 0),
    "amr": CodecSpec("libopencore_amrnb", "amr", "amr", (8000,), (4.75, 12.2), (4.75, 12.2), 40),
}
# Asked for, but not in PyAV's wheel: say why rather than "unknown codec".
MISSING_CODECS = {
    "gsm": "PyAV's wheel has no GSM encoder (libgsm is not built in); use amr or telephone",
}


@dataclass(frozen=True)
class Codec(Augmentation):
    codec: str
    bitrate_kbps: tuple[float, float] | None  # None for the fixed-rate G.711 codecs


def parse_codec(entry: Mapping[str, Any], where: str, base: Path | None = None) -> Codec:
    name = entry.get("codec")
    if name in MISSING_CODECS:
        raise AugmentationConfigError(f"{where}: codec {name} is not available: "
                                      f"{MISSING_CODECS[name]}")  # fmt: skip
    if name not in CODECS:
        raise AugmentationConfigError(
            f"{where}: codec must be one of {', '.join(CODECS)}, not {name!r}"
        )
    spec = CODECS[name]
    if spec.bitrate_kbps is None:
        if "bitrate_kbps" in entry:
            raise AugmentationConfigError(
                f"{where}: codec {name} has a fixed bitrate (64 kbps); remove bitrate_kbps"
            )
        return Codec(name, None)
    return Codec(
        name, parse_range(entry, "bitrate_kbps", where, spec.default_kbps, spec.bitrate_kbps)
    )


def apply_codec(
    x: np.ndarray, rate: int, entry: Codec, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    x = padded(x, rate)
    spec = CODECS[entry.codec]
    drawn: dict[str, Any] = {"kind": "codec", "codec": entry.codec}
    kbps: float | None = None
    if entry.bitrate_kbps is not None:
        kbps = float(rng.uniform(*entry.bitrate_kbps))
    if entry.codec == "mp3":
        assert kbps is not None
        codec_rate, kbps = _mp3_rate_and_bitrate(rate, kbps)
    elif entry.codec == "amr":
        assert kbps is not None
        codec_rate = 8000
        kbps = min(AMR_MODES_KBPS, key=lambda mode: abs(mode - kbps))
    else:
        codec_rate = rate if rate in spec.rates else spec.rates[0]
        if kbps is not None:
            kbps = float(round(kbps))
    if kbps is not None:
        drawn["bitrate_kbps"] = kbps
    drawn["codec_rate"] = codec_rate
    bit_rate = None if kbps is None else round(kbps * 1000)
    y = codec_roundtrip(resample(x, rate, codec_rate), codec_rate, entry.codec, bit_rate)
    return resample(y, codec_rate, rate), drawn


def _mp3_rate_and_bitrate(rate: int, kbps: float) -> tuple[int, float]:
    """The highest MP3 rate up to the input's at which ``kbps`` is a valid bitrate (as LAME
    lowers the rate for low bitrates), and the nearest valid bitrate there."""
    candidates = sorted(_MP3_RATES, reverse=True)
    usable = [r for r in candidates if r <= max(rate, 8000)]
    for codec_rate in usable:
        table = _MP3_BITRATES[_MP3_RATES[codec_rate]]
        if table[0] <= kbps <= table[-1]:
            return codec_rate, float(min(table, key=lambda b: abs(b - kbps)))
    # Above 64 kbps at an input rate of 12 kHz or less: the highest MPEG-2.5 bitrate.
    codec_rate = usable[0]
    table = _MP3_BITRATES[_MP3_RATES[codec_rate]]
    return codec_rate, float(min(table, key=lambda b: abs(b - kbps)))


def codec_roundtrip(x: np.ndarray, rate: int, codec: str, bit_rate: int | None) -> np.ndarray:
    """Encode ``x`` (mono float32 at one of the codec's rates) into an in-memory container and
    decode it back: same rate, priming delay removed, as many samples as the input."""
    import av  # only here: a library import should not load FFmpeg for other kinds

    spec = CODECS[codec]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.muxer) as container:
        stream = container.add_stream(spec.encoder, rate=rate)
        stream.layout = "mono"
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        # PyAV converts the frame to the encoder's sample format and frame size itself.
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    # Named, not probed: from a few hundred samples of AAC, probing finds no format.
    with av.open(buffer, "r", format=spec.demuxer) as container:
        stream = container.streams.audio[0]
        decoded_rate = stream.rate
        # The file decoder's frame conversion (integer formats scaled to [-1, 1), planes
        # mixed): a codec's output is read exactly as a file of it would be.
        from fraudprep.extraction.audio_io import frame_to_mono

        parts = [frame_to_mono(frame) for frame in container.decode(stream)]
    y = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    # FFmpeg's Opus decoder always gives 48 kHz, whatever rate was encoded.
    y = resample(y, decoded_rate, rate)
    return y[spec.delay : spec.delay + len(x)]


register(
    Kind(
        name="codec",
        position=1,
        entry=Codec,
        keys=frozenset({"codec", "bitrate_kbps"}),
        parse=parse_codec,
        apply=apply_codec,
    )
)
