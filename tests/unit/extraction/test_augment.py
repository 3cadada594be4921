"""Augmented copies (fraudprep.extraction.augment): each kind on signals made here, alignment,
determinism, the pool's parse errors, and the registry a new kind joins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from fraudprep.extraction.augment import (
    CODECS,
    KINDS,
    Augmentation,
    AugmentationConfigError,
    AugmentationPlan,
    Codec,
    Kind,
    RawBoost,
    augment,
    choose,
    copy_rng,
    parse_entry,
    parse_pool,
    register,
    registry,
)
from fraudprep.extraction.augment.config import parse_range
from fraudprep.extraction.augment.registry import all_kinds


def vowel(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Speech-like: a glottal pulse train (120 Hz with vibrato) through three formant
    resonators, a syllable-rate envelope and a little breath noise; peak 0.3."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0 = 120 * (1 + 0.08 * np.sin(2 * np.pi * 1.7 * t))
    pulses = np.diff(np.floor(np.cumsum(f0) / rate), prepend=0)
    y = scipy.signal.lfilter([1], [1, -0.95], pulses)
    for centre, width in ((700, 110), (1220, 120), (2600, 160)):
        r = np.exp(-np.pi * width / rate)
        y = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * centre / rate), r * r], y)
    y = y + 0.02 * np.std(y) * rng.standard_normal(n)
    y *= 0.3 + 0.7 * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


def white(rate: int, seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(rate * seconds))).astype(
        np.float32
    )


def energy_below(y: np.ndarray, rate: int, fraction: float) -> float:
    """The frequency under which ``fraction`` of the signal's energy lies."""
    freqs, power = scipy.signal.welch(y, rate, nperseg=2048)
    cumulative = np.cumsum(power) / np.sum(power)
    return float(freqs[np.searchsorted(cumulative, fraction)])


def lag_of(y: np.ndarray, x: np.ndarray, window: int = 400) -> int:
    """Where the cross-correlation of y with x peaks (samples y is late by)."""
    corr = scipy.signal.correlate(y, x, mode="full", method="fft")
    lags = np.arange(-len(x) + 1, len(y))
    near = np.abs(lags) <= window
    return int(lags[near][np.argmax(corr[near])])


def snr_db(signal: np.ndarray, added: np.ndarray) -> float:
    signal = signal.astype(np.float64)
    return float(10 * np.log10(np.sum(signal**2) / np.sum(added.astype(np.float64) ** 2)))


def run(x: np.ndarray, rate: int, config: dict, seed: int = 0) -> tuple[np.ndarray, dict]:
    return augment(x, rate, parse_entry(config, "test"), copy_rng("file.wav", 0, seed))


def check_copy(y: np.ndarray, x: np.ndarray) -> None:
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0


# --- Telephone and codecs ---------------------------------------------------------------------


def test_telephone_keeps_only_the_phone_band():
    rate = 16000
    x = white(rate, 2.0)
    y, drawn = run(x, rate, {"kind": "telephone"})
    check_copy(y, x)
    assert drawn == {"kind": "telephone"}
    freqs, power = scipy.signal.welch(y, rate, nperseg=4096)
    outside = power[(freqs < 300) | (freqs > 3400)].sum() / power.sum()
    assert outside < 0.01
    # Time-aligned: the band-pass is zero-phase, the resampling is linear-phase.
    speech = vowel(rate, 2.0)
    assert abs(lag_of(run(speech, rate, {"kind": "telephone"})[0], speech)) <= 2


@pytest.mark.parametrize("rate", [44100, 48000])
def test_mp3_low_bitrate_narrows_the_band(rate):
    x = white(rate, 2.0)
    low, drawn = run(x, rate, {"kind": "codec", "codec": "mp3", "bitrate_kbps": [16, 16]})
    high, _ = run(x, rate, {"kind": "codec", "codec": "mp3", "bitrate_kbps": [128, 128]})
    check_copy(low, x)
    assert drawn["bitrate_kbps"] == 16 and drawn["codec_rate"] <= 24000
    assert energy_below(low, rate, 0.99) < 8000
    assert energy_below(high, rate, 0.99) > 14000


CODEC_CASES = [
    ("mp3", [64, 64], 16000),
    ("mp3", [96, 96], 44100),
    ("opus", [24, 24], 16000),
    ("opus", [32, 32], 44100),
    ("aac", [64, 64], 16000),
    ("aac", [96, 96], 44100),
    ("alaw", None, 16000),
    ("mulaw", None, 22050),
    ("amr", [12.2, 12.2], 16000),
]


@pytest.mark.parametrize(("codec", "kbps", "rate"), CODEC_CASES)
def test_codec_copy_is_aligned_and_close(codec, kbps, rate):
    x = vowel(rate, 2.0)
    config = {"kind": "codec", "codec": codec}
    if kbps is not None:
        config["bitrate_kbps"] = kbps
    y, drawn = run(x, rate, config)
    check_copy(y, x)
    assert drawn["kind"] == "codec" and drawn["codec"] == codec
    json.dumps(drawn)
    assert abs(lag_of(y, x)) <= 2, "encoder delay not removed"
    # AMR-NB is a CELP codec: it keeps what is heard, less the waveform.
    assert np.corrcoef(x, y)[0, 1] > (0.7 if codec == "amr" else 0.8)


def test_codec_bitrates_snap_to_what_the_encoder_takes():
    x = vowel(16000, 0.5)
    _, drawn = run(x, 16000, {"kind": "codec", "codec": "amr", "bitrate_kbps": [7, 7.2]})
    assert drawn["bitrate_kbps"] == 7.4 and drawn["codec_rate"] == 8000
    # MPEG-2 (16 kHz) has 144 kbps, MPEG-1 (44.1 kHz) has not.
    _, drawn = run(x, 16000, {"kind": "codec", "codec": "mp3", "bitrate_kbps": [150, 150]})
    assert drawn["bitrate_kbps"] == 144 and drawn["codec_rate"] == 16000
    x = vowel(44100, 0.5)
    _, drawn = run(x, 44100, {"kind": "codec", "codec": "mp3", "bitrate_kbps": [150, 150]})
    assert drawn["bitrate_kbps"] == 160 and drawn["codec_rate"] == 44100


# --- RawBoost ---------------------------------------------------------------------------------


def test_rawboost_stationary_noise_snr_within_range():
    rate = 16000
    x = vowel(rate, 2.0)
    for seed in range(5):
        y, drawn = run(x, rate, {"kind": "rawboost", "algorithm": 3, "snr_db": [5, 15]}, seed)
        check_copy(y, x)
        assert 5 <= drawn["snr_db"] <= 15
        assert snr_db(x, y - x) == pytest.approx(drawn["snr_db"], abs=0.05)


@pytest.mark.parametrize("algorithm", range(1, 9))
def test_rawboost_algorithms_change_the_signal(algorithm):
    rate = 16000
    x = vowel(rate, 1.0)
    y, drawn = run(x, rate, {"kind": "rawboost", "algorithm": algorithm})
    check_copy(y, x)
    assert drawn["algorithm"] == algorithm
    json.dumps(drawn)
    assert np.max(np.abs(y - x)) > 1e-3
    assert abs(lag_of(y, x)) <= 1  # the filters are linear-phase with their delay removed


# --- Noise and reverb from folders ------------------------------------------------------------


def test_noise_is_mixed_at_a_drawn_snr(tmp_path: Path):
    rate = 16000
    (tmp_path / "noises").mkdir()
    # Shorter than the clip (it is looped) and at another rate (it is resampled).
    sf.write(tmp_path / "noises" / "babble.wav", white(8000, 0.7, seed=3), 8000)
    sf.write(tmp_path / "noises" / "hum.flac", white(rate, 3.0, seed=4, level=0.3), rate)
    x = vowel(rate, 2.0)
    (entry,) = parse_pool([{"kind": "noise", "dir": "noises", "snr_db": [5, 20]}], base=tmp_path)
    files = set()
    for copy in range(6):
        y, drawn = augment(x, rate, entry, copy_rng("a.wav", copy, 1))
        check_copy(y, x)
        files.add(drawn["file"])
        assert 5 <= drawn["snr_db"] <= 20
        assert snr_db(x, y - x) == pytest.approx(drawn["snr_db"], abs=0.05)
    assert files == {"babble.wav", "hum.flac"}


def test_reverb_keeps_length_level_and_timing(tmp_path: Path):
    rate = 16000
    (tmp_path / "rirs").mkdir()
    t = np.arange(int(0.4 * rate)) / rate
    rir = np.random.default_rng(5).standard_normal(len(t)) * np.exp(-t / 0.08) * 0.2
    rir = np.concatenate([np.zeros(160), [1.0], rir]).astype(np.float32)  # 10 ms pre-delay
    sf.write(tmp_path / "rirs" / "room.wav", rir, rate)
    x = vowel(rate, 2.0)
    (entry,) = parse_pool([{"kind": "reverb", "rir_dir": str(tmp_path / "rirs")}])
    y, drawn = augment(x, rate, entry, copy_rng("a.wav", 0, 0))
    check_copy(y, x)
    assert drawn == {"kind": "reverb", "file": "room.wav"}
    assert np.corrcoef(x, y)[0, 1] < 0.95
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.01)
    # On white noise the cross-correlation is the RIR itself: its peak, the direct path,
    # must land at lag 0 (speech's periodicity would blur the peak).
    noise = white(rate, 1.0)
    assert lag_of(augment(noise, rate, entry, copy_rng("a.wav", 0, 0))[0], noise) == 0


# --- Determinism, limits ----------------------------------------------------------------------

POOL = [
    {"kind": "codec", "codec": "mp3", "bitrate_kbps": [16, 64]},
    {"kind": "codec", "codec": "opus", "bitrate_kbps": [6, 24]},
    {"kind": "telephone"},
    {"kind": "rawboost", "algorithm": 4},
]


def make_copy(pool, x, key: str, copy: int, seed: int) -> tuple[np.ndarray, dict]:
    rng = copy_rng(key, copy, seed)
    return augment(x, 16000, choose(pool, rng), rng)


def test_copies_depend_only_on_key_copy_and_seed():
    pool = parse_pool(POOL)
    x = vowel(16000, 1.0)
    for entry in pool:
        first = augment(x, 16000, entry, copy_rng("a/b.wav", 2, 7))
        again = augment(x, 16000, entry, copy_rng("a/b.wav", 2, 7))
        other = augment(x, 16000, entry, copy_rng("a/b.wav", 2, 8))
        assert first[1] == again[1] and np.array_equal(first[0], again[0])
        if isinstance(entry, Codec | RawBoost):  # the telephone draws nothing
            assert not np.array_equal(first[0], other[0]), entry
    copies = [make_copy(pool, x, "a/b.wav", i, 7)[1] for i in range(12)]
    assert len({json.dumps(c, sort_keys=True) for c in copies}) > 4
    assert make_copy(pool, x, "a/b.wav", 3, 7)[1] == copies[3]
    seeds = [make_copy(pool, x, "a/b.wav", 3, s)[0] for s in (1, 2)]
    assert not np.array_equal(*seeds)


def test_copy_rng_is_pinned():
    # A plain hash of the three (not Python's salted hash()): the same in every process and
    # release; a change here changes every copy ever made, so it must be deliberate.
    assert int(copy_rng("speaker1/clip.wav", 3, 1234).integers(1 << 62)) == 706917687522465778


def test_copy_rng_separates_its_inputs():
    draws = {
        float(copy_rng(key, copy, seed).random())
        for key, copy, seed in [("a", 0, 0), ("a", 1, 0), ("a", 0, 1), ("b", 0, 0), ("a0", 0, 0)]
    }
    assert len(draws) == 5


def test_loud_input_stays_within_full_scale():
    rate = 16000
    x = np.clip(vowel(rate, 1.0) * 4, -1, 1)
    for config in (
        {"kind": "rawboost", "algorithm": 3, "snr_db": [0, 0]},
        {"kind": "codec", "codec": "mp3", "bitrate_kbps": [32, 32]},
        {"kind": "telephone"},
    ):
        y, _ = run(x, rate, config)
        check_copy(y, x)


@pytest.mark.parametrize("length", [1, 100])
@pytest.mark.parametrize("config", [*POOL[:3], {"kind": "codec", "codec": "amr"}])
def test_a_few_samples_still_give_a_copy(config, length):
    x = white(22050, 1.0)[:length]
    y, _ = run(x, 22050, config)
    check_copy(y, x)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_every_codec_copies_short_clips_of_any_length(codec):
    """Clips of 6 to 60 ms at 16 kHz, many lengths: the in-memory stream must be read back
    whatever its size (FFmpeg's probe found no format in a few hundred samples of AAC)."""
    for length in range(100, 1000, 37):
        x = white(16000, 0.1)[:length]
        y, _ = run(x, 16000, {"kind": "codec", "codec": codec})
        check_copy(y, x)


def test_empty_input_gives_empty_copy():
    y, drawn = run(np.zeros(0, np.float32), 16000, {"kind": "telephone"})
    assert y.shape == (0,) and drawn == {"kind": "telephone"}


# --- Parse errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"kind": "codec", "codec": "mp3", "bitrate_kbps": [64, 16]},
            "augmentation.pool[2]: bitrate_kbps must be two numbers low <= high, not [64, 16]",
        ),
        (
            {"kind": "codec", "codec": "mp3", "bitrate_kbps": 64},
            "augmentation.pool[2]: bitrate_kbps must be two numbers low <= high, not 64",
        ),
        (
            {"kind": "codec", "codec": "opus", "bitrate_kbps": [2, 24]},
            "augmentation.pool[2]: bitrate_kbps must lie within [6, 510], not [2, 24]",
        ),
        (
            {"kind": "echo"},
            "augmentation.pool[2]: kind must be one of codec, telephone, rawboost, noise, reverb,"
            " not 'echo'",
        ),
        (
            {"kind": "codec", "codec": "flac"},
            "augmentation.pool[2]: codec must be one of mp3, opus, aac, alaw, mulaw, amr,"
            " not 'flac'",
        ),
        ({"kind": "codec", "codec": "gsm"}, "codec gsm is not available: PyAV's wheel has no GSM"),
        ({"kind": "codec", "codec": "alaw", "bitrate_kbps": [8, 8]}, "remove bitrate_kbps"),
        ({"kind": "rawboost", "algorithm": 9}, "algorithm must be an integer 1..8"),
        ({"kind": "telephone", "rate": 8000}, "unknown key 'rate' for kind telephone"),
        ({"kind": "noise", "snr_db": [5, 20]}, "augmentation.pool[2]: dir is required"),
        (
            {"kind": "noise", "dir": "no/such/noises", "snr_db": [5, 20]},
            "augmentation.pool[2]: dir 'no/such/noises' is not a folder",
        ),
        ({"kind": "noise", "dir": "noises"}, "augmentation.pool[2]: snr_db is required"),
        ({"kind": "reverb", "rir_dir": "empty"}, "pool[2]: rir_dir 'empty' holds no audio"),
    ],
)
def test_parse_errors_name_the_entry_and_key(entry, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "noises").mkdir()
    (tmp_path / "empty").mkdir()
    sf.write(tmp_path / "noises" / "a.wav", white(8000, 0.1), 8000)
    pool = [{"kind": "telephone"}, {"kind": "rawboost", "algorithm": 1}, entry]
    with pytest.raises(AugmentationConfigError) as error:
        parse_pool(pool)
    assert message in str(error.value)


def test_parse_pool_needs_a_list():
    with pytest.raises(AugmentationConfigError, match="non-empty list"):
        parse_pool([])


def test_a_number_of_copies_beyond_reason_is_refused():
    block = {"copies": 100_000, "pool": [{"kind": "telephone"}]}
    with pytest.raises(AugmentationConfigError, match="copies 100000 is more than 100"):
        AugmentationPlan.from_config(block)


# --- The registry of kinds ----------------------------------------------------------------------


def test_kinds_are_listed_in_their_order_each_a_frozen_entry():
    assert KINDS == ("codec", "telephone", "rawboost", "noise", "reverb")
    for kind in all_kinds():
        assert issubclass(kind.entry, Augmentation)
        assert kind.entry.__dataclass_params__.frozen, kind.name  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Gain(Augmentation):
    db: tuple[float, float]


def parse_gain(entry, where, base=None) -> Gain:
    return Gain(parse_range(entry, "db", where, None, (-40.0, 40.0)))


def apply_gain(x, rate, entry, rng):
    db = float(rng.uniform(*entry.db))
    return x * 10 ** (db / 20), {"kind": "gain", "db": db}


def test_a_registered_kind_is_parsed_listed_and_applied(monkeypatch):
    """What a new module of kinds/ does: its kind is then known to the pool's parse, listed
    after the others in errors, and its copies are cut and clipped like every kind's."""
    all_kinds()  # the shipped kinds first, into the registry's tables copied below
    monkeypatch.setattr(registry, "_BY_NAME", dict(registry._BY_NAME))
    monkeypatch.setattr(registry, "_BY_ENTRY", dict(registry._BY_ENTRY))
    register(Kind("gain", 6, Gain, frozenset({"db"}), parse_gain, apply_gain))
    (entry,) = parse_pool([{"kind": "gain", "db": [20, 20]}])
    assert entry == Gain((20.0, 20.0))
    x = vowel(16000, 0.5)
    y, drawn = augment(x, 16000, entry, copy_rng("a.wav", 0, 0))
    check_copy(y, x)
    assert drawn == {"kind": "gain", "db": 20.0} and np.abs(y).max() == 1.0
    with pytest.raises(AugmentationConfigError, match="noise, reverb, gain, not 'echo'"):
        parse_pool([{"kind": "echo"}])
    with pytest.raises(
        AugmentationConfigError, match="key 'gain' for kind gain; it takes db, kind"
    ):
        parse_pool([{"kind": "gain", "db": [0, 1], "gain": 2}])
    with pytest.raises(ValueError, match="clashes with codec"):
        register(Kind("codec2", 1, Gain, frozenset(), parse_gain, apply_gain))


def test_an_entry_of_no_kind_is_refused():
    with pytest.raises(TypeError, match="not an augmentation entry"):
        augment(np.ones(10, np.float32), 16000, Gain((0.0, 0.0)), copy_rng("a.wav", 0, 0))


def test_a_bad_pool_is_refused_with_the_entry_and_key():
    with pytest.raises(AugmentationConfigError, match=r"augmentation.pool\[0\]: codec"):
        AugmentationPlan.from_config({"copies": 1, "pool": [{"kind": "codec", "codec": "gsm"}]})
    with pytest.raises(AugmentationConfigError, match=r"augmentation\.splits"):
        AugmentationPlan.from_config({"copies": 1, "splits": ["train"], "pool": POOL})
    assert AugmentationPlan.from_config(None) is None
    assert AugmentationPlan.from_config({"copies": 0, "pool": POOL}) is None
