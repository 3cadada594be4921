"""Signal helpers both classes use: find the speech, crop around it, resample."""

from __future__ import annotations

import numpy as np
import soxr

MIN_DURATION_S = 0.5
MAX_DURATION_S = 8.0


def active_span(audio: np.ndarray, rate: int) -> tuple[int, int]:
    """First/last sample of the part that is not near-silence (20 ms frames, -35 dB)."""
    frame = max(1, rate // 50)
    n = len(audio) // frame
    if n == 0:
        return 0, len(audio)
    energy = (audio[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    level = 10 * np.log10(energy + 1e-12)
    active = np.flatnonzero(level > level.max() - 35.0)
    margin = rate // 10  # keep a little context so words are not cut at the very edge
    return max(0, active[0] * frame - margin), min(len(audio), (active[-1] + 1) * frame + margin)


def crop(
    audio: np.ndarray, rate: int, target_s: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """A window of about target_s seconds inside the active span; returns (clip, offset_s)."""
    lo, hi = active_span(audio, rate)
    length = min(hi - lo, max(int(target_s * rate), int(MIN_DURATION_S * rate)))
    start = lo + int(rng.integers(0, hi - lo - length + 1))
    return audio[start : start + length], start / rate


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return audio
    return soxr.resample(audio, rate_in, rate_out, quality="HQ")
