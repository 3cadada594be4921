"""Features in float32 numpy, built from a :class:`FeatureProfile`: log-mel images, LFCCs
and raw waveforms.

The filterbank, window and resize matrices are computed once per profile and reused for
every file; everything per file is float32. The steps follow librosa's defaults (centred
STFT with zero padding, periodic Hann window, Slaney mel scale and norm, ``trim`` on RMS
frames of 2048/512), which the tests check against librosa itself, without importing it here.

Scaling: the mel power is converted to dB relative to the clip's own maximum, floored at
``-top_db`` and mapped linearly to [0, 1] (1 = loudest cell). Nothing divides by the data's
range, so silent or constant clips give finite values; a silent clip gives all zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import soxr

from fraudprep.extraction.energy import AMIN, loud_span
from fraudprep.run.settings import FeatureProfile


def hz_to_mel(frequencies: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    frequencies = np.asarray(frequencies, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mels = frequencies / f_sp
    above = frequencies >= min_log_hz
    mels[above] = min_log_mel + np.log(frequencies[above] / min_log_hz) / logstep
    return mels


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    frequencies = f_sp * mels
    above = mels >= min_log_mel
    frequencies[above] = min_log_hz * np.exp(logstep * (mels[above] - min_log_mel))
    return frequencies


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular Slaney-normalised mel filters, shape (n_mels, 1 + n_fft // 2), float32."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    mel_edges = mel_to_hz(
        np.linspace(hz_to_mel(np.array([fmin]))[0], hz_to_mel(np.array([fmax]))[0], n_mels + 2)
    )
    widths = np.diff(mel_edges)
    ramps = np.subtract.outer(mel_edges, fft_freqs)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_edges[2 : n_mels + 2] - mel_edges[:n_mels]))[:, None]
    return weights.astype(np.float32)


class BandedMatrix:
    """A filterbank whose rows are non-zero only over a narrow band of columns.

    Mel filters each cover a few FFT bins (2,020 non-zero weights of 131,200 for 128 mels at
    n_fft 2048), so rows are applied in groups, each over the columns its filters touch:
    0.05 ms instead of 0.15 ms per clip, with the same result as the dense product.
    """

    ROWS_PER_GROUP = 16

    def __init__(self, dense: np.ndarray) -> None:
        self.dense = dense
        self.groups: list[tuple[int, int, int, int, np.ndarray]] = []
        touched = dense != 0
        for first in range(0, dense.shape[0], self.ROWS_PER_GROUP):
            last = min(first + self.ROWS_PER_GROUP, dense.shape[0])
            columns = np.flatnonzero(touched[first:last].any(axis=0))
            low, high = (columns[0], columns[-1] + 1) if len(columns) else (0, 0)
            block = np.ascontiguousarray(dense[first:last, low:high])
            self.groups.append((first, last, low, high, block))

    @property
    def shape(self) -> tuple[int, ...]:
        return self.dense.shape

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        return self.dense @ other

    def times_transposed(self, frames: np.ndarray) -> np.ndarray:
        """``dense @ frames.T`` for ``frames`` of shape (n, columns): shape (rows, n)."""
        result = np.zeros((self.dense.shape[0], len(frames)), dtype=np.float32)
        for first, last, low, high, block in self.groups:
            if high > low:
                np.matmul(block, frames[:, low:high].T, out=result[first:last])
        return result


def hann_window(length: int) -> np.ndarray:
    """Periodic Hann window (the DFT-even one STFTs use)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)).astype(np.float32)


def trim_silence(samples: np.ndarray, top_db: float) -> np.ndarray:
    """Cut leading and trailing frames more than ``top_db`` below the loudest frame.

    As librosa's ``trim``: mean square over centred, zero-padded frames of 2048 samples every
    512 (see :mod:`fraudprep.extraction.energy`).
    """
    start, stop = loud_span(samples, top_db)
    return samples[start:stop]


def band_limited(samples: np.ndarray, rate: int, cutoff_hz: float) -> np.ndarray:
    """``samples`` without content above ``cutoff_hz``: resampled down to twice the cutoff and
    back with soxr, whose anti-aliasing filter is a steep low-pass (a common bandwidth for
    classes recorded or encoded at different ones)."""
    low_rate = max(1, round(2 * cutoff_hz))
    down = soxr.resample(samples, rate, low_rate, quality="HQ")
    back = soxr.resample(down, low_rate, rate, quality="HQ").astype(np.float32, copy=False)
    return fix_length(back, len(samples))  # resampling there and back can be off by a sample


def at_loudness(samples: np.ndarray, target_dbfs: float) -> np.ndarray:
    """``samples`` scaled so that their RMS is ``target_dbfs``, or as close as the peak allows
    without going past full scale (int16 storage would clip it)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 0:
        return samples
    gain = 10 ** (target_dbfs / 20) / rms
    peak = float(np.abs(samples).max())
    return (samples * np.float32(min(gain, 1.0 / peak))).astype(np.float32, copy=False)


def fix_length(samples: np.ndarray, length: int, pad_mode: str = "zeros") -> np.ndarray:
    """Cut to ``length`` samples, or pad the end with zeros or by repeating the clip."""
    if len(samples) >= length:
        return samples[:length]
    if pad_mode == "repeat" and len(samples):
        return np.resize(samples, length)  # np.resize repeats the data cyclically
    return np.pad(samples, (0, length - len(samples)))


def centred_window(win_length: int, n_fft: int) -> np.ndarray:
    """A periodic Hann window of ``win_length`` zero-padded to ``n_fft`` in the middle (as
    librosa does when win_length < n_fft)."""
    window = np.zeros(n_fft, dtype=np.float32)
    start = (n_fft - win_length) // 2
    window[start : start + win_length] = hann_window(win_length)
    return window


def power_spectrogram(
    samples: np.ndarray,
    n_fft: int,
    hop_length: int,
    window: np.ndarray,
    max_frames: int | None = None,
) -> np.ndarray:
    """|STFT|^2 with centred, zero-padded frames; shape (frames, 1 + n_fft // 2), float32.
    Only the first ``max_frames`` frames are computed when given."""
    padded = np.pad(samples.astype(np.float32, copy=False), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:max_frames]
    # scipy's FFT keeps float32 end to end and is about 3x faster here than numpy's.
    spectrum = scipy.fft.rfft(frames * window, axis=1, workers=1)
    return np.square(spectrum.real) + np.square(spectrum.imag)


def unit_db(mel_power: np.ndarray, top_db: float) -> np.ndarray:
    """dB relative to the maximum, floored at ``-top_db``, mapped to [0, 1]; silence -> 0."""
    peak = float(mel_power.max())
    if peak <= AMIN:
        return np.zeros_like(mel_power, dtype=np.float32)
    db = 10.0 * np.log10(np.maximum(mel_power, AMIN) / np.float32(peak))
    return ((np.maximum(db, -top_db) + top_db) / top_db).astype(np.float32, copy=False)


@dataclass(frozen=True)
class LinearResize:
    """Linear interpolation along one axis with half-pixel centres, like OpenCV's
    INTER_LINEAR: each output is a two-tap blend, computed as a gather and a lerp (a dense
    interpolation matrix would cost size_in times more multiplications)."""

    left: np.ndarray
    right: np.ndarray
    weight_right: np.ndarray

    @classmethod
    def between(cls, size_in: int, size_out: int) -> LinearResize:
        position = (np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5
        position = np.clip(position, 0, size_in - 1)
        left = np.floor(position).astype(np.intp)
        right = np.minimum(left + 1, size_in - 1)
        return cls(left, right, (position - left).astype(np.float32))

    def matrix(self, size_in: int) -> np.ndarray:
        """The same interpolation as a (size_out, size_in) matrix, for checks."""
        matrix = np.zeros((len(self.left), size_in), dtype=np.float64)
        rows = np.arange(len(self.left))
        np.add.at(matrix, (rows, self.left), 1 - self.weight_right)
        np.add.at(matrix, (rows, self.right), self.weight_right)
        return matrix.astype(np.float32)

    def rows(self, image: np.ndarray) -> np.ndarray:
        weight = self.weight_right[:, None]
        return image[self.left] * (1 - weight) + image[self.right] * weight

    def columns(self, image: np.ndarray) -> np.ndarray:
        return image[:, self.left] * (1 - self.weight_right) + image[:, self.right] * (
            self.weight_right
        )


def distinct_values(array: np.ndarray) -> np.ndarray:
    """``array`` without the axes a broadcast view repeats (stride 0), e.g. the one plane
    behind an R = G = B image: checks on it see every value once instead of three times."""
    return array[tuple(0 if stride == 0 else slice(None) for stride in array.strides)]


@dataclass(frozen=True)
class Extracted:
    features: np.ndarray
    # The clip's power summed over STFT frames that lie inside its signal and together cover
    # it once, per bin from 0 Hz to half the rate, when asked for and the features are
    # computed from a spectrum; else None.
    spectrum: np.ndarray | None


class Extractor:
    """Turns mono float32 audio at the profile's rate into one float32 feature array."""

    def __init__(self, profile: FeatureProfile) -> None:
        self.profile = profile
        self.window = centred_window(profile.win_length or profile.n_fft, profile.n_fft)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.profile.output_shape

    def clip(self, samples: np.ndarray) -> np.ndarray:
        """The fixed-length clip features are computed from: trimmed, then padded or cut."""
        return self._clip_and_signal_length(samples)[0]

    def _clip_and_signal_length(self, samples: np.ndarray) -> tuple[np.ndarray, int]:
        """The clip, and how many of its samples are signal rather than zero padding."""
        if self.profile.lowpass_hz is not None:
            samples = band_limited(samples, self.profile.sample_rate, self.profile.lowpass_hz)
        if self.profile.trim_top_db is not None:
            samples = trim_silence(samples, self.profile.trim_top_db)
        if self.profile.loudness_dbfs is not None:
            samples = at_loudness(samples, self.profile.loudness_dbfs)
        clip = fix_length(samples, self.profile.num_samples, self.profile.pad_mode)
        zero_padded = self.profile.pad_mode == "zeros" or len(samples) == 0
        return clip, min(len(samples), len(clip)) if zero_padded else len(clip)

    def _frames_with_signal(self, signal_length: int) -> int:
        # Frame i spans samples [i*hop - n_fft/2, i*hop + n_fft/2) of the clip: past the
        # signal it sees only zero padding, and its power is exactly zero.
        half, hop = self.profile.n_fft // 2, self.profile.hop_length
        return min(self.profile.num_frames, -(-(signal_length + half) // hop))

    def _live_power(self, samples: np.ndarray) -> np.ndarray:
        """Power spectrum of the frames that see signal; the rest are exactly zero."""
        return self._live_power_and_signal_length(samples)[0]

    def _live_power_and_signal_length(self, samples: np.ndarray) -> tuple[np.ndarray, int]:
        clip, signal_length = self._clip_and_signal_length(samples)
        live = self._frames_with_signal(signal_length)
        power = power_spectrogram(
            clip, self.profile.n_fft, self.profile.hop_length, self.window, live
        )
        return power, signal_length

    def power(self, samples: np.ndarray) -> np.ndarray:
        """(frames, 1 + n_fft // 2) power spectrum of the clip."""
        live_power = self._live_power(samples)
        power = np.zeros((self.profile.num_frames, live_power.shape[1]), np.float32)
        power[: len(live_power)] = live_power
        return power

    def band_energies(self, samples: np.ndarray, filterbank: BandedMatrix) -> np.ndarray:
        """(bands, frames) filterbank energies of the clip."""
        return self._band_energies(self._live_power(samples), filterbank)

    def _band_energies(self, live_power: np.ndarray, filterbank: BandedMatrix) -> np.ndarray:
        # Most clips are shorter than the profile's duration: the frames of zero padding
        # cost nothing.
        energies = np.zeros((filterbank.shape[0], self.profile.num_frames), np.float32)
        if len(live_power):
            energies[:, : len(live_power)] = filterbank.times_transposed(live_power)
        return energies

    @property
    def spectrum_key(self) -> tuple | None:
        """What the spectrum :meth:`extract` hands out depends on besides the audio:
        extractors with equal keys hand out equal spectra. None when there is none."""
        return None

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        return self.extract(samples).features

    def extract(self, samples: np.ndarray, with_spectrum: bool = False) -> Extracted:
        """The features, and with ``with_spectrum`` the clip's spectrum where the features
        are computed from one."""
        raise NotImplementedError


class SpectralExtractor(Extractor):
    """Features made from the clip's power spectrum through a filterbank."""

    filterbank: BandedMatrix

    @property
    def spectrum_key(self) -> tuple | None:
        p = self.profile  # everything _live_power reads
        return (p.sample_rate, p.lowpass_hz, p.trim_top_db, p.loudness_dbfs, p.num_samples,
                p.pad_mode, p.n_fft, p.hop_length, p.win_length)  # fmt: skip

    def extract(self, samples: np.ndarray, with_spectrum: bool = False) -> Extracted:
        live_power, signal_length = self._live_power_and_signal_length(samples)
        features = self.from_band_energies(self._band_energies(live_power, self.filterbank))
        if not with_spectrum:
            return Extracted(features, None)
        # The clip's spectrum, for the bandwidth property, from a spectrogram already in hand
        # (a clip shorter than one frame has no frame inside it: all its frames then).
        inside = live_power[self._frames_inside_signal(signal_length)]
        return Extracted(features, (inside if len(inside) else live_power).sum(axis=0))

    def from_band_energies(self, energies: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _frames_inside_signal(self, signal_length: int) -> slice:
        """The frames that see signal only: the others straddle the step between the clip's
        ends and its zero padding, whose spectrum spreads over every frequency."""
        half, hop = self.profile.n_fft // 2, self.profile.hop_length
        first, last = -(-half // hop), (signal_length - half) // hop
        # n_fft apart, they cover the signal once (the others overlap them).
        apart = max(1, self.profile.n_fft // hop)
        return slice(first, max(first, last + 1), apart)


class RawExtractor(Extractor):
    """The waveform itself, cut or padded to a fixed length (AASIST, RawNet2)."""

    def extract(self, samples: np.ndarray, with_spectrum: bool = False) -> Extracted:
        clip = np.ascontiguousarray(self.clip(samples), dtype=np.float32)
        # The decoders give samples in [-1, 1], but resampling a waveform at full scale
        # overshoots it (a clipped 44.1 kHz file by 3 % in the tests), and so may an
        # augmented copy: the waveform is promised in [-1, 1], as int16 storage clips it.
        if clip.size and max(float(clip.max()), -float(clip.min())) > 1.0:
            clip = np.clip(clip, -1.0, 1.0)
        return Extracted(clip, None)


def linear_filterbank(
    sample_rate: int, n_fft: int, n_filters: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters with linearly spaced centres, shape (n_filters, 1 + n_fft // 2)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    edges = np.linspace(fmin, fmax, n_filters + 2)
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_freqs)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    return np.maximum(0, np.minimum(lower, upper)).astype(np.float32)


def deltas(features: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over time (axis 1), edges padded by repetition:
    d_t = sum_n n (c_{t+n} - c_{t-n}) / (2 sum_n n^2), n = 1..width."""
    padded = np.pad(features, ((0, 0), (width, width)), mode="edge")
    frames = features.shape[1]
    weighted = sum(
        n * (padded[:, width + n : width + n + frames] - padded[:, width - n : width - n + frames])
        for n in range(1, width + 1)
    )
    return (weighted / (2 * sum(n * n for n in range(1, width + 1)))).astype(np.float32)


class LfccExtractor(SpectralExtractor):
    """Linear-frequency cepstral coefficients with deltas, the LFCC-LCNN baseline's input:
    power spectrum -> linear triangular filters -> log -> DCT-II (orthonormal)."""

    def __init__(self, profile: FeatureProfile) -> None:
        super().__init__(profile)
        self.filterbank = BandedMatrix(
            linear_filterbank(
                profile.sample_rate, profile.n_fft, profile.n_filters, profile.fmin, profile.fmax
            )
        )
        self.dct = scipy.fft.dct(np.eye(profile.n_filters), type=2, norm="ortho", axis=0)[
            : profile.n_lfcc
        ].astype(np.float32)

    def from_band_energies(self, energies: np.ndarray) -> np.ndarray:
        cepstra = self.dct @ np.log(np.maximum(energies, np.float32(AMIN)))
        if not self.profile.deltas:
            return cepstra.astype(np.float32, copy=False)
        first = deltas(cepstra)
        return np.concatenate([cepstra, first, deltas(first)]).astype(np.float32, copy=False)


class MelImageExtractor(SpectralExtractor):
    """The log-mel image: mel dB scaled to [0, 1], resized, 1 or 3 channels."""

    def __init__(self, profile: FeatureProfile) -> None:
        super().__init__(profile)
        self.filterbank = BandedMatrix(
            mel_filterbank(
                profile.sample_rate, profile.n_fft, profile.n_mels, profile.fmin, profile.fmax
            )
        )
        height, width = profile.output_shape[:2]
        self.resize_rows = LinearResize.between(profile.n_mels, height)
        self.resize_columns = LinearResize.between(profile.num_frames, width)

    def mel_unit(self, samples: np.ndarray) -> np.ndarray:
        """The (n_mels, frames) mel-dB matrix in [0, 1], row 0 the lowest band."""
        return unit_db(self.band_energies(samples, self.filterbank), self.profile.top_db)

    def from_band_energies(self, energies: np.ndarray) -> np.ndarray:
        mel_unit = unit_db(energies, self.profile.top_db)
        image = self.resize_columns.columns(self.resize_rows.rows(mel_unit))
        np.clip(image, 0.0, 1.0, out=image)
        if self.profile.channels == 3:
            # Channels-last RGB with R = G = B, what ImageNet-style networks take. A read-only
            # view: the batch buffer is where the three copies are made, once.
            return np.broadcast_to(image[:, :, None], (*image.shape, 3))
        return image


EXTRACTORS = {"mel_image": MelImageExtractor, "lfcc": LfccExtractor, "raw": RawExtractor}


def make_extractor(profile: FeatureProfile) -> Extractor:
    return EXTRACTORS[profile.kind](profile)
