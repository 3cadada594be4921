"""Augmented training copies: codecs, telephone channel, RawBoost, additive noise and reverb.

Detectors trained on clean studio audio fail on phone calls and compressed uploads, so the
extraction job can make degraded copies of each training file. Everything here is a pure
function of (samples, rate, pool entry, random generator): the generator of a copy comes from
:func:`copy_rng`, a hash of (file key, copy index, seed), so a copy is the same whichever
chunk or process makes it.

The config's pool is a list of entries, each parsed by :func:`parse_pool` into one of the
frozen dataclasses below; :func:`choose` picks an entry for a copy and :func:`augment` applies
it, returning the audio (mono float32, same rate and length as the input, finite, within
[-1, 1]) and the parameters it drew, JSON-ready, for the copy's metadata.

Codecs are encoded and decoded in memory with PyAV (FFmpeg's encoders in its wheel), after
resampling with soxr to a rate the encoder takes; the encoder's priming delay is removed so
the copy stays time-aligned with the original.

RawBoost follows Tak et al., "RawBoost: A raw data boosting and augmentation method applied
to automatic speaker verification anti-spoofing", ICASSP 2022, and the defaults of its
reference implementation (github.com/TakHemlata/RawBoost-antispoofing), rewritten here on
numpy/scipy with an explicit generator.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.inputs.manifest import SPLITS

# scipy, soxr and the decoders are imported in the functions that use them: the workflow's
# main process parses the config's pool with this module and should not pay for loading them.

KINDS = ("codec", "telephone", "rawboost", "noise", "reverb")
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")
# Longest stretch of a noise or impulse-response file read: enough variety for any clip,
# and a bound on the memory the cache below holds.
NOISE_MAX_SECONDS = 300.0
RIR_MAX_SECONDS = 10.0


class AugmentationConfigError(ValueError):
    """A pool entry that cannot be used; the message names the entry and the key."""


# --- Codecs -----------------------------------------------------------------------------------


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
    # measured by cross-correlation (tests/test_augment.py checks every codec's alignment).
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


# --- Pool entries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    codec: str
    bitrate_kbps: tuple[float, float] | None  # None for the fixed-rate G.711 codecs


@dataclass(frozen=True)
class Telephone:
    """Narrowband phone channel: 8 kHz, 300-3400 Hz, G.711 mu-law, back to the input rate."""


@dataclass(frozen=True)
class RawBoost:
    algorithm: int  # 1..8 as in the paper
    snr_db: tuple[float, float] = (10.0, 40.0)  # of the stationary noise (algorithms 3, 4, 6, 7)


@dataclass(frozen=True)
class Noise:
    dir: Path
    files: tuple[Path, ...]
    snr_db: tuple[float, float]


@dataclass(frozen=True)
class Reverb:
    rir_dir: Path
    files: tuple[Path, ...]


Augmentation = Codec | Telephone | RawBoost | Noise | Reverb

_KEYS = {
    "codec": {"kind", "codec", "bitrate_kbps"},
    "telephone": {"kind"},
    "rawboost": {"kind", "algorithm", "snr_db"},
    "noise": {"kind", "dir", "snr_db"},
    "reverb": {"kind", "rir_dir"},
}


def parse_pool(
    pool: Sequence[Mapping[str, Any]], where: str = "augmentation.pool", base: Path | None = None
) -> list[Augmentation]:
    """The config's pool as entries; relative folders are taken from ``base`` (the working
    directory if None). Raises AugmentationConfigError naming ``where[i]`` and the key."""
    if not isinstance(pool, Sequence) or isinstance(pool, str) or not pool:
        raise AugmentationConfigError(f"{where}: must be a non-empty list of entries")
    return [parse_entry(entry, f"{where}[{i}]", base) for i, entry in enumerate(pool)]


def parse_entry(entry: Mapping[str, Any], where: str, base: Path | None = None) -> Augmentation:
    if not isinstance(entry, Mapping):
        raise AugmentationConfigError(f"{where}: must be a mapping with a 'kind', not {entry!r}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise AugmentationConfigError(
            f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}"
        )
    unknown = sorted(set(entry) - _KEYS[kind])
    if unknown:
        raise AugmentationConfigError(
            f"{where}: unknown key {unknown[0]!r} for kind {kind}; "
            f"it takes {', '.join(sorted(_KEYS[kind]))}"
        )
    if kind == "codec":
        return _parse_codec(entry, where)
    if kind == "telephone":
        return Telephone()
    if kind == "rawboost":
        algorithm = entry.get("algorithm")
        if isinstance(algorithm, bool) or algorithm not in range(1, 9):
            raise AugmentationConfigError(
                f"{where}: algorithm must be an integer 1..8 (RawBoost), not {algorithm!r}"
            )
        snr = _range(entry, "snr_db", where, (10.0, 40.0), (-20.0, 100.0))
        return RawBoost(int(algorithm), snr)
    if kind == "noise":
        folder, files = _audio_folder(entry, "dir", where, base)
        return Noise(folder, files, _range(entry, "snr_db", where, None, (-20.0, 100.0)))
    folder, files = _audio_folder(entry, "rir_dir", where, base)
    return Reverb(folder, files)


def _parse_codec(entry: Mapping[str, Any], where: str) -> Codec:
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
    return Codec(name, _range(entry, "bitrate_kbps", where, spec.default_kbps, spec.bitrate_kbps))


def _range(
    entry: Mapping[str, Any],
    key: str,
    where: str,
    default: tuple[float, float] | None,
    limits: tuple[float, float],
) -> tuple[float, float]:
    """``entry[key]`` as (low, high): two numbers, low <= high, within ``limits``."""
    if key not in entry:
        if default is None:
            raise AugmentationConfigError(f"{where}: {key} is required (two numbers low <= high)")
        return default
    value = entry[key]
    numbers = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) for v in value)
    )
    if not numbers or value[0] > value[1]:
        raise AugmentationConfigError(
            f"{where}: {key} must be two numbers low <= high, not {value!r}"
        )
    if value[0] < limits[0] or value[1] > limits[1]:
        raise AugmentationConfigError(
            f"{where}: {key} must lie within [{limits[0]:g}, {limits[1]:g}], not {value!r}"
        )
    return (float(value[0]), float(value[1]))


def _audio_folder(
    entry: Mapping[str, Any], key: str, where: str, base: Path | None
) -> tuple[Path, tuple[Path, ...]]:
    value = entry.get(key)
    if not isinstance(value, str | Path) or not str(value):
        raise AugmentationConfigError(f"{where}: {key} is required (a folder of audio files)")
    folder = Path(value)
    if base is not None and not folder.is_absolute():
        folder = base / folder
    if not folder.is_dir():
        raise AugmentationConfigError(f"{where}: {key} {str(folder)!r} is not a folder")
    files = tuple(
        sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    )
    if not files:
        raise AugmentationConfigError(
            f"{where}: {key} {str(folder)!r} holds no audio files ({', '.join(AUDIO_EXTENSIONS)})"
        )
    return folder, files


# --- Randomness -------------------------------------------------------------------------------


def copy_rng(file_key: str, copy_index: int, seed: int) -> np.random.Generator:
    """The generator of one copy: a hash of the three, so that a copy never depends on
    which chunk, process or order made it."""
    digest = hashlib.sha256(f"{seed}\x00{copy_index}\x00{file_key}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "big")))


def choose(pool: Sequence[Augmentation], rng: np.random.Generator) -> Augmentation:
    """The entry for a copy, uniformly from the pool."""
    return pool[int(rng.integers(len(pool)))]


# --- Applying an entry ------------------------------------------------------------------------


def augment(
    samples: np.ndarray, rate: int, entry: Augmentation, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """``samples`` (mono float32 at ``rate``) through ``entry``: the copy, same rate and length,
    finite and within [-1, 1], and the parameters drawn (JSON-ready)."""
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"augment takes mono samples (1-D), not shape {x.shape}")
    if len(x) == 0:
        return x.copy(), {"kind": _kind(entry)}
    match entry:
        case Codec():
            y, drawn = _apply_codec(_padded(x, rate), rate, entry, rng)
        case Telephone():
            y, drawn = _telephone(_padded(x, rate), rate), {"kind": "telephone"}
        case RawBoost():
            y, drawn = _apply_rawboost(x.astype(np.float64), rate, entry, rng)
        case Noise():
            y, drawn = _apply_noise(x, rate, entry, rng)
        case Reverb():
            y, drawn = _apply_reverb(x, rate, entry, rng)
        case _:
            raise TypeError(f"not an augmentation entry: {entry!r}")
    return _finish(y, len(x)), drawn


def _kind(entry: Augmentation) -> str:
    return type(entry).__name__.lower()


def _finish(y: np.ndarray, length: int) -> np.ndarray:
    """Exactly ``length`` samples, float32, finite, clipped: what every copy promises."""
    y = np.asarray(y, dtype=np.float32)[:length]
    if len(y) < length:
        y = np.pad(y, (0, length - len(y)))
    y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(y, -1.0, 1.0)


# Shortest signal the codecs and the telephone filter are given: a clip of a few samples
# resamples to none at 8 kHz, and the zero-phase filter needs some length to run at all.
MIN_CODEC_SECONDS = 0.05


def _padded(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` with silence after it up to MIN_CODEC_SECONDS; :func:`_finish` cuts it off."""
    shortest = math.ceil(MIN_CODEC_SECONDS * rate)
    return x if len(x) >= shortest else np.pad(x, (0, shortest - len(x)))


def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return x
    import soxr

    return soxr.resample(x, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


# Codecs


def _apply_codec(
    x: np.ndarray, rate: int, entry: Codec, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
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
    y = codec_roundtrip(_resample(x, rate, codec_rate), codec_rate, entry.codec, bit_rate)
    return _resample(y, codec_rate, rate), drawn


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
    y = _resample(y, decoded_rate, rate)
    return y[spec.delay : spec.delay + len(x)]


# Telephone

TELEPHONE_RATE = 8000
TELEPHONE_BAND_HZ = (300.0, 3400.0)


TELEPHONE_RAMP_HZ = 100.0  # raised-cosine edges, inside the band: nothing passes outside it
FILTER_PAD = 1024  # zeros on each side: the FFT filter's circular wrap stays in the padding


def _band_pass(x: np.ndarray, rate: int, band: tuple[float, float], ramp: float) -> np.ndarray:
    """Zero-phase band-pass in the frequency domain (the copy stays aligned): a mask of 1
    inside ``band``, falling to 0 at its edges over ``ramp`` Hz with a raised cosine, and 0
    outside. scipy.signal's filters would do; importing it costs a job 49 MB of its 150."""
    import scipy.fft

    padded = np.pad(x.astype(np.float64), FILTER_PAD)
    size = scipy.fft.next_fast_len(len(padded), real=True)
    frequencies = np.fft.rfftfreq(size, 1 / rate)
    low, high = band
    rise = np.clip((frequencies - low) / ramp, 0.0, 1.0)
    fall = np.clip((high - frequencies) / ramp, 0.0, 1.0)
    mask = (0.5 - 0.5 * np.cos(np.pi * rise)) * (0.5 - 0.5 * np.cos(np.pi * fall))
    filtered = scipy.fft.irfft(scipy.fft.rfft(padded, size) * mask, size)
    return filtered[FILTER_PAD : FILTER_PAD + len(x)]


def _fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The full linear convolution of ``x`` and ``h`` (as scipy.signal.fftconvolve)."""
    import scipy.fft

    length = len(x) + len(h) - 1
    size = scipy.fft.next_fast_len(length, real=True)
    spectrum = scipy.fft.rfft(x.astype(np.float64), size) * scipy.fft.rfft(h, size)
    return scipy.fft.irfft(spectrum, size)[:length]


def _telephone(x: np.ndarray, rate: int) -> np.ndarray:
    narrow = _resample(x, rate, TELEPHONE_RATE)
    band = _band_pass(narrow, TELEPHONE_RATE, TELEPHONE_BAND_HZ, TELEPHONE_RAMP_HZ)
    narrow = band.astype(np.float32)
    # G.711 clips at full scale; the line's filter can overshoot slightly.
    narrow = np.clip(narrow, -1.0, 1.0)
    coded = codec_roundtrip(narrow, TELEPHONE_RATE, "mulaw", None)
    return _resample(coded, TELEPHONE_RATE, rate)


# RawBoost. Defaults of the reference implementation's command line (main.py there).

RB_BANDS = 5  # notch filters per filter bank
RB_CENTRE_HZ = (20.0, 8000.0)  # centre frequencies (the top is capped at Nyquist)
RB_WIDTH_HZ = (100.0, 1000.0)
RB_TAPS = (10, 100)  # FIR length per notch (made odd)
RB_GAIN_DB = (0.0, 0.0)  # gain of the linear component
RB_NONLINEAR_BIAS_DB = (5.0, 20.0)  # how far below the linear one the higher orders sit
# The reference draws the higher orders' gain between minG - minBias and maxG - maxBias.
RB_NONLINEAR_GAIN_DB = (
    RB_GAIN_DB[0] - RB_NONLINEAR_BIAS_DB[1],
    RB_GAIN_DB[1] - RB_NONLINEAR_BIAS_DB[0],
)
RB_ORDER = 5  # N_f: x, x^2, ... x^5
RB_ISD_PERCENT = 10.0  # at most this % of samples get an impulse
RB_ISD_GAIN = 2.0  # g_sd


def _notch_bank(rate: int, gain_db: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A cascade of RB_BANDS random band-stop FIR filters (odd lengths, so the cascade is
    linear phase with an integer delay), scaled to a random peak gain."""
    nyquist = rate / 2
    taps = np.ones(1)
    for _ in range(RB_BANDS):
        centre = rng.uniform(RB_CENTRE_HZ[0], min(RB_CENTRE_HZ[1], nyquist))
        width = rng.uniform(*RB_WIDTH_HZ)
        length = int(rng.integers(RB_TAPS[0], RB_TAPS[1] + 1)) | 1
        low = max(centre - width / 2, 1e-3)
        high = min(centre + width / 2, nyquist - 1e-3)
        # Two cut-offs with pass_zero (the default): a band-stop filter around the centre.
        taps = np.convolve(taps, band_stop_taps(length, low, high, rate))
    gain = rng.uniform(*gain_db)
    # The peak of |H| on 512 frequencies from 0 up to (not including) Nyquist.
    response = np.fft.rfft(taps, 1024)[:512]
    return taps * (10 ** (gain / 20) / np.max(np.abs(response)))


def band_stop_taps(length: int, low: float, high: float, rate: float) -> np.ndarray:
    """A windowed-sinc band-stop FIR filter of odd ``length`` (what scipy.signal.firwin gives
    for two cut-offs with pass_zero: Hamming window, unit gain at 0 Hz)."""
    nyquist = rate / 2
    m = np.arange(length) - (length - 1) / 2
    f1, f2 = low / nyquist, high / nyquist
    # Pass bands [0, f1] and [f2, 1]: each an ideal low-pass difference, as firwin builds them.
    taps = f1 * np.sinc(f1 * m) + (np.sinc(m) - f2 * np.sinc(f2 * m))
    taps *= np.hamming(length)
    return taps / taps.sum()


def _fir(x: np.ndarray, taps: np.ndarray) -> np.ndarray:
    # 'same' on an odd-length linear-phase filter removes its delay exactly.
    full = _fft_convolve(x, taps)
    start = (len(taps) - 1) // 2
    return full[start : start + len(x)]


def _normalise_if_over(y: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(y))
    return y / peak if peak > 1 else y


def _lnl_convolutive(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """(1) Linear and non-linear convolutive noise: sum over orders k of a random notch bank
    applied to x^k; the higher orders sit RB_NONLINEAR_BIAS_DB below the linear one."""
    y = np.zeros_like(x)
    power = np.ones_like(x)
    for order in range(RB_ORDER):
        power = power * x
        gain = RB_GAIN_DB if order == 0 else RB_NONLINEAR_GAIN_DB
        y += _fir(power, _notch_bank(rate, gain, rng))
    return _normalise_if_over(y - y.mean())


def _isd_additive(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(2) Impulsive signal-dependent noise: a random beta % of the samples each get
    g_sd * x * (product of two uniforms in [-1, 1]) added."""
    beta = float(rng.uniform(0, RB_ISD_PERCENT))
    count = int(len(x) * beta / 100)
    where = rng.choice(len(x), size=count, replace=False)
    factor = (2 * rng.random(count) - 1) * (2 * rng.random(count) - 1)
    y = x.copy()
    y[where] += RB_ISD_GAIN * x[where] * factor
    return _normalise_if_over(y), beta


def _ssi_additive(
    x: np.ndarray, rate: int, snr_db: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """(3) Stationary signal-independent noise: white noise through a random notch bank,
    added at an SNR drawn from ``snr_db`` (relative to the whole signal's energy)."""
    noise = _fir(rng.standard_normal(len(x)), _notch_bank(rate, RB_GAIN_DB, rng))
    snr = float(rng.uniform(*snr_db))
    noise_norm = np.linalg.norm(noise)
    if noise_norm == 0:
        return x, snr
    return x + noise * (np.linalg.norm(x) / noise_norm / 10 ** (snr / 20)), snr


def _apply_rawboost(
    x: np.ndarray, rate: int, entry: RawBoost, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    drawn: dict[str, Any] = {"kind": "rawboost", "algorithm": entry.algorithm}
    algorithm = entry.algorithm
    if algorithm == 8:
        # Parallel: (1) and (2) each on the original, summed, normalised if over full scale.
        convolved = _lnl_convolutive(x, rate, rng)
        impulsive, drawn["isd_percent"] = _isd_additive(x, rng)
        return _normalise_if_over(convolved + impulsive), drawn
    # Series: 4 = 1+2+3, 5 = 1+2, 6 = 1+3, 7 = 2+3.
    steps = {1: "1", 2: "2", 3: "3", 4: "123", 5: "12", 6: "13", 7: "23"}[algorithm]
    y = x
    if "1" in steps:
        y = _lnl_convolutive(y, rate, rng)
    if "2" in steps:
        y, drawn["isd_percent"] = _isd_additive(y, rng)
    if "3" in steps:
        y, drawn["snr_db"] = _ssi_additive(y, rate, entry.snr_db, rng)
    return y, drawn


# Noise and reverb from folders


@lru_cache(maxsize=32)
def _load(path: Path, rate: int, max_seconds: float) -> np.ndarray:
    """A noise or impulse-response file at ``rate``, read once per process. A file that
    cannot be read is named in the error: the copy's own source file is fine."""
    from fraudprep.extraction.audio_io import AudioError, load_mono

    try:
        return load_mono(str(path), rate, max_seconds).samples
    except AudioError as error:
        raise AudioError(f"{path} (from the augmentation pool): {error}") from error


def _apply_noise(
    x: np.ndarray, rate: int, entry: Noise, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    path = entry.files[int(rng.integers(len(entry.files)))]
    snr = float(rng.uniform(*entry.snr_db))
    noise = _load(path, rate, NOISE_MAX_SECONDS)
    # A random stretch of the noise, looped if the file is shorter than the clip.
    start = int(rng.integers(len(noise)))
    picked = np.take(noise, np.arange(start, start + len(x)), mode="wrap").astype(np.float64)
    drawn = {"kind": "noise", "file": path.name, "snr_db": snr, "offset": start}
    signal_power = float(np.mean(np.square(x, dtype=np.float64)))
    noise_power = float(np.mean(np.square(picked)))
    if signal_power == 0 or noise_power == 0:
        return x, drawn  # nothing to set an SNR against
    scale = math.sqrt(signal_power / (noise_power * 10 ** (snr / 10)))
    return x + picked * scale, drawn


def _apply_reverb(
    x: np.ndarray, rate: int, entry: Reverb, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    path = entry.files[int(rng.integers(len(entry.files)))]
    rir = _load(path, rate, RIR_MAX_SECONDS).astype(np.float64)
    drawn = {"kind": "reverb", "file": path.name}
    if not np.any(rir):
        return x, drawn
    # Start at the direct path (the RIR's peak), so the copy is not delayed by the
    # source-microphone distance, and keep the input's RMS level.
    direct = int(np.argmax(np.abs(rir)))
    wet = _fft_convolve(x, rir[direct:])[: len(x)]
    wet_rms = math.sqrt(float(np.mean(np.square(wet))))
    dry_rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64))))
    if wet_rms == 0:
        return x, drawn
    return wet * (dry_rms / wet_rms), drawn


# --- The config block -------------------------------------------------------------------------


# More copies than this per file is surely a typo: each costs what the file does.
MAX_COPIES = 100


@dataclass(frozen=True)
class AugmentationPlan:
    """The ``augmentation`` block: ``copies`` per file of ``splits``, each one entry of
    ``pool`` drawn with :func:`copy_rng` from the file's key, the copy's index and ``seed``."""

    copies: int
    splits: tuple[str, ...]
    seed: int
    pool: tuple[Augmentation, ...]

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None, base: Path | None = None):
        """None when the block is absent or asks for no copies (nothing changes then)."""
        if not block or not block.get("copies"):
            return None
        copies, splits = block["copies"], tuple(block.get("splits") or ("training",))
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
            raise AugmentationConfigError(
                f"augmentation.copies must be a whole number, not {copies!r}"
            )
        if copies > MAX_COPIES:
            raise AugmentationConfigError(
                f"augmentation.copies {copies} is more than {MAX_COPIES} per file: each copy "
                "costs about what the file itself does, in time and disk; draw fewer"
            )
        unknown = [split for split in splits if split not in SPLITS]
        if unknown:
            raise AugmentationConfigError(
                f"augmentation.splits: {unknown[0]!r} is not one of {', '.join(SPLITS)}"
            )
        seed = block.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise AugmentationConfigError(f"augmentation.seed must be an integer, not {seed!r}")
        return cls(copies, splits, seed, tuple(parse_pool(block.get("pool") or [], base=base)))

    def draw(self, file_key: str, index: int) -> tuple[Augmentation, np.random.Generator]:
        """The pool entry of copy ``index`` of one file and the generator for its parameters:
        the same whenever asked, so that each sample rate's copy makes the same choices."""
        rng = copy_rng(file_key, index, self.seed)
        return choose(self.pool, rng), rng
