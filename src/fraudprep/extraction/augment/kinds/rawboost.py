"""The ``rawboost`` kind: RawBoost's three noises and their combinations (``algorithm`` 1-8).

RawBoost follows Tak et al., "RawBoost: A raw data boosting and augmentation method applied
to automatic speaker verification anti-spoofing", ICASSP 2022, and the defaults of its
reference implementation (github.com/TakHemlata/RawBoost-antispoofing), rewritten here on
numpy/scipy with an explicit generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.config import AugmentationConfigError, parse_range
from fraudprep.extraction.augment.dsp import fft_convolve
from fraudprep.extraction.augment.registry import Augmentation, Kind, register


@dataclass(frozen=True)
class RawBoost(Augmentation):
    algorithm: int  # 1..8 as in the paper
    snr_db: tuple[float, float] = (10.0, 40.0)  # of the stationary noise (algorithms 3, 4, 6, 7)


def parse_rawboost(entry: Mapping[str, Any], where: str, base: Path | None = None) -> RawBoost:
    algorithm = entry.get("algorithm")
    if isinstance(algorithm, bool) or algorithm not in range(1, 9):
        raise AugmentationConfigError(
            f"{where}: algorithm must be an integer 1..8 (RawBoost), not {algorithm!r}"
        )
    snr = parse_range(entry, "snr_db", where, (10.0, 40.0), (-20.0, 100.0))
    return RawBoost(int(algorithm), snr)


# Defaults of the reference implementation's command line (main.py there).

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
    full = fft_convolve(x, taps)
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


def apply_rawboost(
    x: np.ndarray, rate: int, entry: RawBoost, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    x = x.astype(np.float64)
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


register(
    Kind(
        name="rawboost",
        position=3,
        entry=RawBoost,
        keys=frozenset({"algorithm", "snr_db"}),
        parse=parse_rawboost,
        apply=apply_rawboost,
    )
)
