"""The ``telephone`` kind: a narrowband phone channel (8 kHz, 300-3400 Hz, G.711 mu-law through
the codec kind's round trip), back to the input's rate. It draws nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.extraction.augment.dsp import padded, resample
from fraudprep.extraction.augment.kinds.codec import codec_roundtrip
from fraudprep.extraction.augment.registry import Augmentation, Kind, register

TELEPHONE_RATE = 8000
TELEPHONE_BAND_HZ = (300.0, 3400.0)


TELEPHONE_RAMP_HZ = 100.0  # raised-cosine edges, inside the band: nothing passes outside it
FILTER_PAD = 1024  # zeros on each side: the FFT filter's circular wrap stays in the padding


@dataclass(frozen=True)
class Telephone(Augmentation):
    """Narrowband phone channel: 8 kHz, 300-3400 Hz, G.711 mu-law, back to the input rate."""


def parse_telephone(entry: Mapping[str, Any], where: str, base: Path | None = None) -> Telephone:
    return Telephone()


def apply_telephone(
    x: np.ndarray, rate: int, entry: Telephone, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    return _telephone(padded(x, rate), rate), {"kind": "telephone"}


def _band_pass(x: np.ndarray, rate: int, band: tuple[float, float], ramp: float) -> np.ndarray:
    """Zero-phase band-pass in the frequency domain (the copy stays aligned): a mask of 1
    inside ``band``, falling to 0 at its edges over ``ramp`` Hz with a raised cosine, and 0
    outside. scipy.signal's filters would do; importing it costs a job 49 MB of its 150."""
    import scipy.fft

    with_margins = np.pad(x.astype(np.float64), FILTER_PAD)
    size = scipy.fft.next_fast_len(len(with_margins), real=True)
    frequencies = np.fft.rfftfreq(size, 1 / rate)
    low, high = band
    rise = np.clip((frequencies - low) / ramp, 0.0, 1.0)
    fall = np.clip((high - frequencies) / ramp, 0.0, 1.0)
    mask = (0.5 - 0.5 * np.cos(np.pi * rise)) * (0.5 - 0.5 * np.cos(np.pi * fall))
    filtered = scipy.fft.irfft(scipy.fft.rfft(with_margins, size) * mask, size)
    return filtered[FILTER_PAD : FILTER_PAD + len(x)]


def _telephone(x: np.ndarray, rate: int) -> np.ndarray:
    narrow = resample(x, rate, TELEPHONE_RATE)
    band = _band_pass(narrow, TELEPHONE_RATE, TELEPHONE_BAND_HZ, TELEPHONE_RAMP_HZ)
    narrow = band.astype(np.float32)
    # G.711 clips at full scale; the line's filter can overshoot slightly.
    narrow = np.clip(narrow, -1.0, 1.0)
    coded = codec_roundtrip(narrow, TELEPHONE_RATE, "mulaw", None)
    return resample(coded, TELEPHONE_RATE, rate)


register(
    Kind(
        name="telephone",
        position=2,
        entry=Telephone,
        keys=frozenset(),
        parse=parse_telephone,
        apply=apply_telephone,
    )
)
