"""Signal helpers the kinds share: resampling (soxr), the padding the codecs and the telephone
filter need, and FFT convolution (RawBoost's filters, reverb).

scipy and soxr are imported in the functions that use them: the workflow's main process
parses the config's pool with this package and should not pay for loading them.
"""

from __future__ import annotations

import math

import numpy as np

# Shortest signal the codecs and the telephone filter are given: a clip of a few samples
# resamples to none at 8 kHz, and the zero-phase filter needs some length to run at all.
MIN_CODEC_SECONDS = 0.05


def padded(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` with silence after it up to MIN_CODEC_SECONDS; :func:`.copies.finish` cuts it
    off."""
    shortest = math.ceil(MIN_CODEC_SECONDS * rate)
    return x if len(x) >= shortest else np.pad(x, (0, shortest - len(x)))


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return x
    import soxr

    return soxr.resample(x, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


def fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The full linear convolution of ``x`` and ``h`` (as scipy.signal.fftconvolve)."""
    import scipy.fft

    length = len(x) + len(h) - 1
    size = scipy.fft.next_fast_len(length, real=True)
    spectrum = scipy.fft.rfft(x.astype(np.float64), size) * scipy.fft.rfft(h, size)
    return scipy.fft.irfft(spectrum, size)[:length]
