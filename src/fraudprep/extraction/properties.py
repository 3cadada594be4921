"""Per-file properties that can give real and fake apart without the voice: silence, level,
bandwidth, sample rate, codec, duration.

Computed during extraction from what is already decoded (no second read), on the mono signal
at the model's sample rate, as the model's features see it: levels, clipping, DC, digital
silence, bandwidth, and silence at the ends with the model's ``trim_top_db`` (20 dB for
profiles that do not trim). The bandwidth is read off the spectrum a model's features are
computed from (the clip, trimmed, at most the profile's duration), where they have one;
:func:`bandwidth` measures it for the others, and for profiles that band-limit (the property
describes the audio before that option). Models of one job share what they would each
measure alike: levels by rate, silence by rate and threshold, the bandwidth by the spectrum
it comes from. :mod:`fraudprep.outputs.shortcuts` measures how well each separates the classes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fraudprep.extraction.energy import energy_scan, loud_span

if TYPE_CHECKING:
    from fraudprep.extraction.audio_io import DecodedAudio

# scipy and the feature code are imported in the functions that use them: the workflow's main
# process reads this module's names (PROPERTIES) and should not pay for loading them.

# Properties whose values are names or categories rather than amounts: their separation is
# measured by category, not by order.
CATEGORICAL = ("sample_rate", "channels", "format")
NUMERIC = (
    "duration_s",
    "trimmed_duration_s",
    "leading_silence_ms",
    "trailing_silence_ms",
    "file_kbps",
    "peak_dbfs",
    "rms_dbfs",
    "dc_offset",
    "clipped_fraction",
    "digital_silence_fraction",
    "bandwidth_hz",
)
PROPERTIES = (*CATEGORICAL, *NUMERIC)
# The columns of properties.csv, one row per sample in batch order.
PROPERTY_COLUMNS = ("path", "split", "label", *PROPERTIES)
# What each property is, in the words of the end-of-run warning and the report.
DESCRIPTIONS = {
    "sample_rate": "original sample rate",
    "channels": "channel count",
    "format": "container/codec",
    "duration_s": "duration",
    "trimmed_duration_s": "duration after trimming silence",
    "leading_silence_ms": "leading silence",
    "trailing_silence_ms": "trailing silence",
    "file_kbps": "file bitrate",
    "peak_dbfs": "peak level",
    "rms_dbfs": "RMS level",
    "dc_offset": "DC offset",
    "clipped_fraction": "share of clipped samples",
    "digital_silence_fraction": "share of digital silence",
    "bandwidth_hz": "bandwidth (the highest frequency within 60 dB of the spectrum's peak)",
}

FLOOR_DBFS = -200.0  # the level of an all-zero signal, instead of minus infinity
# The bandwidth is the highest frequency whose power comes within this of the average
# spectrum's peak. Speech keeps 97-99 % of its energy below 2 kHz, so a share of the energy
# (a roll-off point) lands on a flat stretch of the cumulative curve where sampling noise
# moves it by kilohertz, and it cannot tell 8 kHz from 16 kHz recordings. A level below the
# peak can: wideband speech stays within 60 dB up to the anti-aliasing edge, while above the
# band of a telephone codec or a low-bitrate encoder there is only the resampler's stopband,
# over 100 dB down, and 16-bit quantisation noise is about as low.
BANDWIDTH_BELOW_PEAK_DB = 60.0
SPECTRUM_FFT = 2048
# Evenly spaced frames, about a second of audio at 16 kHz: the average spectrum of speech
# settles within that, and the cost stays flat for long files (this runs for every file).
SPECTRUM_MAX_FRAMES = 8
# Silence is measured with the profile's trim_top_db, or this when the profile does not trim
# (librosa's default, and the image profiles'): a model that keeps the silence is the one
# that can learn from it.
DEFAULT_SILENCE_TOP_DB = 20.0


@dataclass(frozen=True)
class SignalLevels:
    """The properties of the decoded signal that do not depend on a model."""

    peak_dbfs: float
    rms_dbfs: float
    dc_offset: float
    clipped_fraction: float
    digital_silence_fraction: float


def signal_levels(samples: np.ndarray) -> SignalLevels:
    if len(samples) == 0:
        return SignalLevels(FLOOR_DBFS, FLOOR_DBFS, 0.0, 0.0, 1.0)
    # Read off the pass over the signal that trimming makes anyway.
    scan = energy_scan(samples)
    return SignalLevels(
        peak_dbfs=_dbfs(scan.peak),
        rms_dbfs=_dbfs(math.sqrt(scan.sum_of_squares / len(samples))),
        dc_offset=scan.sum / len(samples),
        clipped_fraction=scan.clipped / len(samples),
        digital_silence_fraction=scan.digital_silence / len(samples),
    )


def _dbfs(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else FLOOR_DBFS


@dataclass(frozen=True)
class TrimmedShape:
    """Silence at the ends of the signal at a model's rate, with its trim threshold."""

    trimmed_duration_s: float
    leading_silence_ms: float
    trailing_silence_ms: float


def trimmed_shape(samples: np.ndarray, rate: int, top_db: float | None) -> TrimmedShape:
    start, stop = loud_span(samples, DEFAULT_SILENCE_TOP_DB if top_db is None else top_db)
    return TrimmedShape(
        trimmed_duration_s=(stop - start) / rate,
        leading_silence_ms=1000.0 * start / rate,
        trailing_silence_ms=1000.0 * (len(samples) - stop) / rate if stop else 0.0,
    )


def bandwidth_of_spectrum(
    power: np.ndarray, rate: int, below_peak_db: float = BANDWIDTH_BELOW_PEAK_DB
) -> float:
    """The highest frequency at which ``power`` (a power spectrum summed or averaged over
    frames, one value per rfft bin from 0 Hz to ``rate / 2``) is within ``below_peak_db`` of
    its peak; 0 for silence."""
    peak = float(power.max())
    if peak <= 0:
        return 0.0
    within = np.flatnonzero(power >= peak * 10.0 ** (-below_peak_db / 10))
    return float(within[-1] * rate / (2 * (len(power) - 1)))


def bandwidth(
    samples: np.ndarray, rate: int, below_peak_db: float = BANDWIDTH_BELOW_PEAK_DB
) -> float:
    """:func:`bandwidth_of_spectrum` of the power spectrum of (at most
    ``SPECTRUM_MAX_FRAMES`` evenly spaced) Hann-windowed frames of ``samples``: for features
    that have no spectrum of their own to measure it on.

    Frames do not overlap and stay float32: an average spectrum needs no more."""
    import scipy.fft

    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < SPECTRUM_FFT:
        samples = np.pad(samples, (0, SPECTRUM_FFT - len(samples)))
    count = len(samples) // SPECTRUM_FFT
    frames = samples[: count * SPECTRUM_FFT].reshape(count, SPECTRUM_FFT)
    if count > SPECTRUM_MAX_FRAMES:
        frames = frames[np.linspace(0, count - 1, SPECTRUM_MAX_FRAMES).astype(int)]
    spectrum = scipy.fft.rfft(frames * _spectrum_window(), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).sum(axis=0)
    return bandwidth_of_spectrum(power, rate, below_peak_db)


@functools.cache
def _spectrum_window() -> np.ndarray:
    return np.hanning(SPECTRUM_FFT).astype(np.float32)


def file_kbps(size_bytes: int, duration: float) -> float:
    """Average bitrate of the file as stored (container included): codecs and their settings
    differ by it even where the decoded audio looks alike. The size is the manifest's, read
    when it was built: no second look at the file."""
    if duration <= 0:
        return 0.0
    return size_bytes * 8 / duration / 1000


def file_properties(
    size_bytes: int,
    audio: DecodedAudio,
    levels: SignalLevels,
    shape: TrimmedShape,
    bandwidth_hz: float,
) -> list[int | str]:
    """One file's properties in the order of :data:`PROPERTIES`, as ``properties.csv`` holds
    them: amounts as text with six significant digits (enough to separate classes, and the
    same text on every run), categories as they are."""
    values: Mapping[str, float | int | str] = {
        "sample_rate": audio.original_sample_rate,
        "channels": audio.channels,
        "format": audio.format or "-",
        "duration_s": audio.duration,
        "file_kbps": file_kbps(size_bytes, audio.duration),
        "bandwidth_hz": bandwidth_hz,
        **vars(levels),
        **vars(shape),
    }
    return [_cell(values[name]) for name in PROPERTIES]


def _cell(value: float | int | str) -> int | str:
    return f"{value:.6g}" if isinstance(value, float) else value
