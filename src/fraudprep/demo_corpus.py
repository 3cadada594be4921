"""Build the bundled demo corpus: real and synthetic ("fake") speech in the FoR layout.

The corpus lets the workflow and its tests run end to end without downloading a data set.
Everything it uses is installed from Debian packages by ``tools/install-system-deps.sh``:

* real: human recordings shipped as files by ``codec2-examples`` (speech samples the Codec 2
  project uses for listening tests) and ``alsa-utils`` (the spoken "Front Left" etc. test
  sounds of ``speaker-test``);
* fake: text-to-speech from ``espeak-ng`` (formant synthesis) and ``flite`` (CMU diphone and
  clustergen voices), reading a fixed list of sentences.

Layout: ``OUT_DIR/{training,validation,testing}/{real,fake}/<name>.<ext>`` plus ``CORPUS.json``,
a manifest written last that lists every file with its sha256, source and licence.

Both classes go through the same output stage (sample rate, channels, container, gain,
padding, file name), drawn from the same distribution independently of the class, so that
format properties carry no label information. Real clips are only cropped, gain-scaled and
resampled: nothing that would make them sound processed or synthetic.

Usage: ``python -m fraudprep.demo_corpus OUT_DIR [--small] [--seed N]``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from fraudprep.manifest import LABELS, SPLITS

CLASSES = tuple(LABELS)  # ("real", "fake")
MANIFEST_NAME = "CORPUS.json"
MANIFEST_VERSION = 1
INSTALL_HINT = "run tools/install-system-deps.sh"

# Files per class in each split. The default (300 files) builds in well under a minute on
# two cores; --small (36 files) is for tests.
DEFAULT_FILES: dict[str, int] = {"training": 70, "validation": 40, "testing": 40}
SMALL_FILES: dict[str, int] = {"training": 8, "validation": 5, "testing": 5}

OUTPUT_RATES: tuple[int, ...] = (8000, 16000, 22050, 44100, 48000)
MIN_DURATION_S = 0.5
MAX_DURATION_S = 8.0
PROGRESS_EVERY = 25

# Share of files per split x class that get each variant; at least one file always does,
# so even the small corpus exercises every code path downstream.
STEREO_SHARE = 0.15
FLAC_SHARE = 0.35
UPPER_EXT_SHARE = 0.07
SPACE_NAME_SHARE = 0.08
PADDED_SHARE = 0.05

CODEC2_RAW = Path("/usr/share/codec2/raw")
CODEC2_WAV = Path("/usr/share/codec2/wav")
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")

CODEC2_LICENCE = (
    "LGPL-2.1 (Debian codec2-examples copyright: raw/*, wav/* (c) 2007-2019 David Rowe)"
)
ALSA_LICENCE = "GPL-2 (Debian alsa-utils copyright, Files: *)"
ESPEAK_LICENCE = "GPL-3+ (program); the corpus holds only its generated audio"
FLITE_LICENCE = "CMU Flite licence, BSD-style (program and cmu_us_* voices)"


class DemoCorpusError(RuntimeError):
    """A needed tool or source file is missing, or the output directory is unusable."""


@dataclass(frozen=True)
class RealSource:
    """One real recording (or a disjoint segment of one) and the split it belongs to."""

    id: str
    package: str
    path: Path
    split: str
    licence: str
    description: str
    start_s: float = 0.0
    end_s: float | None = None  # None: to the end of the file


def _codec2(name: str, split: str, description: str, **kw: Any) -> RealSource:
    return RealSource(
        id=f"codec2:{name}" + (f"@{kw['start_s']:g}-{kw['end_s']:g}s" if "start_s" in kw else ""),
        package="codec2-examples",
        path=CODEC2_RAW / name,
        split=split,
        licence=CODEC2_LICENCE,
        description=description,
        **kw,
    )


def _alsa(name: str, split: str) -> RealSource:
    return RealSource(
        id=f"alsa:{name}",
        package="alsa-utils",
        path=ALSA_SOUNDS / name,
        split=split,
        licence=ALSA_LICENCE,
        description="speaker-test channel announcement, one male voice, 48 kHz",
    )


# Each recording is used by exactly one split. Files that contain one another were resolved
# by cross-correlation: hts1a ⊂ hts1 ⊂ hts.raw, hts2a ⊂ hts2 ⊂ hts.raw, ve9qrp_10s ⊂ ve9qrp,
# and wav/all.wav concatenates several raw/ files, so only the raw/ originals are used and
# hts.raw is cut at its 6 s boundaries. Left out on purpose: f2400/m2400 (Codec 2 decoder
# output, i.e. vocoded), david4.wav and vk2tpm_004.wav (off-air OFDM modem signals, not
# speech), Noise.wav (noise), g3plx.raw (content unverified).
REAL_SOURCES: tuple[RealSource, ...] = (
    # training
    _codec2("hts.raw", "training", "studio sentence (=hts1.raw)", start_s=0.0, end_s=6.0),
    _codec2("hts.raw", "training", "studio sentence (=hts2.raw)", start_s=6.0, end_s=12.0),
    _codec2("ve9qrp.raw", "training", "off-air HF SSB speech with noise, 8 kHz"),
    _codec2("cq_ref.raw", "training", "spoken CQ call, 8 kHz"),
    _codec2("mmt1.raw", "training", "male speech with background noise, 8 kHz"),
    _codec2("forig.raw", "training", "female speech, 8 kHz"),
    _alsa("Front_Left.wav", "training"),
    _alsa("Front_Right.wav", "training"),
    _alsa("Front_Center.wav", "training"),
    # validation
    _codec2("speech_orig_16k.wav", "validation", "wideband speech, 16 kHz"),
    _codec2("hts.raw", "validation", "studio sentence", start_s=12.0, end_s=18.0),
    _codec2("kristoff.raw", "validation", "male speech, 8 kHz"),
    _codec2("morig.raw", "validation", "male speech, 8 kHz"),
    _codec2("big_dog.raw", "validation", "speech, 8 kHz"),
    _alsa("Rear_Left.wav", "validation"),
    _alsa("Rear_Right.wav", "validation"),
    # testing
    _codec2("vk5qi.raw", "testing", "off-air HF SSB speech, 8 kHz"),
    _codec2("hts.raw", "testing", "studio sentence", start_s=18.0, end_s=24.0),
    _codec2("cross.raw", "testing", "speech, 8 kHz"),
    RealSource(
        id="codec2:wia_16kHz.wav",
        package="codec2-examples",
        path=CODEC2_WAV / "wia_16kHz.wav",
        split="testing",
        licence=CODEC2_LICENCE,
        description="short wideband phrase, 16 kHz",
    ),
    _alsa("Rear_Center.wav", "testing"),
    _alsa("Side_Left.wav", "testing"),
    _alsa("Side_Right.wav", "testing"),
)

# Fixed sentences read by the TTS voices. Sentence i goes to split (training if i % 5 < 3,
# validation if i % 5 == 3, testing if i % 5 == 4) so fake splits do not share texts either.
SENTENCES: tuple[str, ...] = (
    "The train to the coast leaves at half past nine.",
    "Please send the invoice to the address on the letter.",
    "My account number ends in four seven two.",
    "We will call you back within two working days.",
    "The weather stayed cold and grey all week.",
    "Could you confirm the last transaction on my card?",
    "She left her umbrella on the bus this morning.",
    "The meeting has been moved to Thursday afternoon.",
    "I never authorised a payment of that size.",
    "A small boat drifted slowly across the harbour.",
    "Your parcel is waiting at the local depot.",
    "He painted the fence a pale shade of green.",
    "Press one to speak to an advisor.",
    "The library closes early on public holidays.",
    "I would like to reset my password, please.",
    "The soup was too hot to eat straight away.",
    "They planted three apple trees behind the house.",
    "Hello, this is your bank calling about a security check.",
    "The printer on the second floor is out of paper.",
    "Remember to lock the back door before you leave.",
    "Transfer five hundred pounds to the savings account.",
    "The children built a castle out of wet sand.",
    "Our flight was delayed by nearly three hours.",
    "Please read me the code we just sent to your phone.",
    "The old clock in the hall stopped at midnight.",
    "I am calling to report a lost debit card.",
    "Fresh bread is delivered every morning at seven.",
    "The river rose quickly after the heavy rain.",
    "Can you spell your surname for me?",
    "The museum opens a new exhibition next month.",
    "Keep the receipt in case you need a refund.",
    "A cold wind blew in from the north sea.",
    "Your appointment is confirmed for ten fifteen.",
    "The cat slept all afternoon in a patch of sunlight.",
    "We noticed an unusual login from a new device.",
    "She tuned the old radio to a distant station.",
    "The bridge will be closed for repairs this weekend.",
    "Thank you for holding, your call is important to us.",
    "He counted the coins twice before paying.",
    "The lights in the street flickered and went out.",
)

# espeak-ng: English accents x voice variants (only natural-sounding variants; the joke
# variants such as "croak" or "robosoft" would make the task trivially easy).
ESPEAK_LANGS: tuple[str, ...] = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
ESPEAK_VARIANTS: tuple[str, ...] = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "klatt",
    "klatt3",
)
# flite voices with a typical mean F0 (Hz) to vary pitch around; "awb_time" is a
# limited-domain voice that can only say the time, so it is not used.
FLITE_VOICES: dict[str, int] = {"kal": 100, "kal16": 100, "awb": 110, "rms": 100, "slt": 170}
FLITE_SHARE = 0.4  # of fake files; the rest are espeak-ng


@dataclass(frozen=True)
class OutputProfile:
    """How a clip is written; drawn identically for both classes."""

    rate: int
    stereo: bool
    flac: bool
    upper_ext: bool
    spaced_name: bool
    pad_lead_s: float
    pad_trail_s: float
    peak_dbfs: float
    right_gain: float


@dataclass
class BuildStats:
    done: int = 0
    total: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- checks


def _require_tools() -> None:
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            raise DemoCorpusError(f"{tool} not found: {INSTALL_HINT}")


def _require_sources() -> None:
    for src in REAL_SOURCES:
        if not src.path.is_file():
            raise DemoCorpusError(
                f"{src.path} not found (Debian package {src.package}): {INSTALL_HINT}"
            )


def _run(cmd: list[str], check: bool = True) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError as exc:
        raise DemoCorpusError(f"{cmd[0]} not found: {INSTALL_HINT}") from exc
    if check and proc.returncode != 0:
        raise DemoCorpusError(f"{' '.join(cmd[:3])} ... failed: {proc.stderr.strip()}")
    return proc.stdout


def _require_voices() -> None:
    # Both engines silently fall back to a default voice when asked for an unknown one,
    # which would quietly reduce variety, so check the voice lists up front.
    flite_voices = set(_run(["flite", "-lv"]).split(":", 1)[-1].split())
    missing = sorted(set(FLITE_VOICES) - flite_voices)
    langs = {line.split()[1] for line in _run(["espeak-ng", "--voices=en"]).splitlines()[1:]}
    missing += sorted(f"espeak-ng:{lang}" for lang in set(ESPEAK_LANGS) - langs)
    variants = {
        token.removeprefix("!v/")
        for token in _run(["espeak-ng", "--voices=variant"]).split()
        if token.startswith("!v/")
    }
    missing += sorted(f"espeak-ng:+{v}" for v in set(ESPEAK_VARIANTS) - variants)
    if missing:
        raise DemoCorpusError(f"TTS voices missing: {', '.join(missing)}: {INSTALL_HINT}")


def _tool_versions() -> dict[str, str]:
    espeak = _run(["espeak-ng", "--version"]).strip().splitlines()[0]
    # flite --version prints its banner but exits with status 1.
    flite_lines = _run(["flite", "--version"], check=False).splitlines()
    flite = next((ln.strip() for ln in flite_lines if "version" in ln), "unknown")
    return {"espeak-ng": espeak, "flite": flite}


# --------------------------------------------------------------------------- audio helpers


def _load_real(src: RealSource) -> tuple[np.ndarray, int]:
    """Mono float64 samples of a real source (codec2 .raw files are 8 kHz s16le)."""
    if src.path.suffix == ".raw":
        audio = np.fromfile(src.path, dtype="<i2").astype(np.float64) / 32768.0
        rate = 8000
    else:
        audio, rate = sf.read(src.path, dtype="float64", always_2d=True)
        audio = audio.mean(axis=1)
    start = round(src.start_s * rate)
    end = len(audio) if src.end_s is None else round(src.end_s * rate)
    return audio[start:end], rate


def _active_span(audio: np.ndarray, rate: int) -> tuple[int, int]:
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


def _crop(
    audio: np.ndarray, rate: int, target_s: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """A window of about target_s seconds inside the active span; returns (clip, offset_s)."""
    lo, hi = _active_span(audio, rate)
    length = min(hi - lo, max(int(target_s * rate), int(MIN_DURATION_S * rate)))
    start = lo + int(rng.integers(0, hi - lo - length + 1))
    return audio[start : start + length], start / rate


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return audio
    return soxr.resample(audio, rate_in, rate_out, quality="HQ")


def _finish(audio: np.ndarray, rate: int, prof: OutputProfile) -> np.ndarray:
    """Apply gain, padding and channel layout; return int16 frames ready to write."""
    audio = _resample(audio, rate, prof.rate)
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = audio * (10 ** (prof.peak_dbfs / 20) / peak)
    # Digital silence (exact zeros) on purpose: it is the edge case silence trimming and
    # normalisation downstream must survive.
    lead = np.zeros(int(prof.pad_lead_s * prof.rate))
    trail = np.zeros(int(prof.pad_trail_s * prof.rate))
    audio = np.concatenate([lead, audio, trail])
    if prof.stereo:
        audio = np.stack([audio, audio * prof.right_gain], axis=1)
    # Quantise ourselves so the bytes never depend on libsndfile's float conversion.
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)


def _write(path: Path, frames: np.ndarray, prof: OutputProfile) -> None:
    fmt = "FLAC" if prof.flac else "WAV"
    sf.write(path, frames, prof.rate, subtype="PCM_16", format=fmt)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- TTS


def _espeak(text: str, voice: str, speed: int, pitch: int, tmp: Path) -> tuple[np.ndarray, int]:
    out = tmp / "espeak.wav"
    _run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text])
    audio, rate = sf.read(out, dtype="float64")
    return audio, rate


def _flite(text: str, voice: str, stretch: str, f0: int, tmp: Path) -> tuple[np.ndarray, int]:
    out = tmp / "flite.wav"
    cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
    cmd += ["--setf", f"int_f0_target_mean={f0}", "-t", text, "-o", str(out)]
    _run(cmd)
    audio, rate = sf.read(out, dtype="float64")
    return audio, rate


def _pick_voice(rng: np.random.Generator) -> dict[str, Any]:
    """Engine, voice and prosody for one fake clip; strings keep the manifest exact."""
    if rng.random() < FLITE_SHARE:
        voice = str(rng.choice(sorted(FLITE_VOICES)))
        f0 = round(FLITE_VOICES[voice] * float(rng.uniform(0.85, 1.2)))
        return {
            "engine": "flite",
            "voice": voice,
            "duration_stretch": f"{rng.uniform(0.85, 1.25):.2f}",
            "f0_mean": f0,
        }
    lang = str(rng.choice(ESPEAK_LANGS))
    variant = str(rng.choice(ESPEAK_VARIANTS))
    return {
        "engine": "espeak-ng",
        "voice": f"{lang}+{variant}",
        "speed_wpm": int(rng.integers(125, 186)),
        "pitch": int(rng.integers(25, 76)),
    }


def _speak(text: str, voice: Mapping[str, Any], tmp: Path) -> tuple[np.ndarray, int]:
    if voice["engine"] == "flite":
        return _flite(text, voice["voice"], voice["duration_stretch"], voice["f0_mean"], tmp)
    return _espeak(text, voice["voice"], voice["speed_wpm"], voice["pitch"], tmp)


# --------------------------------------------------------------------------- planning


def _deck(n: int, share: float, rng: np.random.Generator) -> list[bool]:
    """n flags with round(n*share) (at least one) set, in a seeded random order."""
    k = min(n, max(1, round(n * share)))
    flags = np.zeros(n, dtype=bool)
    flags[:k] = True
    rng.shuffle(flags)
    return [bool(f) for f in flags]


def _profiles(n: int, rng: np.random.Generator) -> list[OutputProfile]:
    """Output profiles for one split x class; every variant appears at least once."""
    rates = [OUTPUT_RATES[i % len(OUTPUT_RATES)] for i in range(n)]
    rng.shuffle(rates)
    stereo, flac = _deck(n, STEREO_SHARE, rng), _deck(n, FLAC_SHARE, rng)
    upper, spaced = _deck(n, UPPER_EXT_SHARE, rng), _deck(n, SPACE_NAME_SHARE, rng)
    padded = _deck(n, PADDED_SHARE, rng)
    out = []
    for i in range(n):
        lead = trail = 0.0
        if padded[i]:
            where = int(rng.integers(0, 3))  # 0: both ends, 1: leading only, 2: trailing only
            lead = round(float(rng.uniform(0.3, 1.0)), 2) if where in (0, 1) else 0.0
            trail = round(float(rng.uniform(0.3, 1.0)), 2) if where in (0, 2) else 0.0
        out.append(
            OutputProfile(
                rate=int(rates[i]),
                stereo=stereo[i],
                flac=flac[i],
                upper_ext=upper[i],
                spaced_name=spaced[i],
                pad_lead_s=lead,
                pad_trail_s=trail,
                peak_dbfs=round(float(rng.uniform(-20.0, -1.0)), 2),
                right_gain=round(float(rng.uniform(0.6, 1.0)), 3),
            )
        )
    return out


def _file_name(idx: int, prof: OutputProfile, rng: np.random.Generator) -> str:
    stem = str(rng.choice(["clip_", "utt", "rec-", "sample_"])) + f"{idx:04d}"
    if prof.spaced_name:
        stem = f"clip {idx:04d} take {int(rng.integers(1, 4))}"
    ext = "flac" if prof.flac else "wav"
    return f"{stem}.{ext.upper() if prof.upper_ext else ext}"


_REAL_CACHE: dict[str, tuple[np.ndarray, int]] = {}


def _load_real_cached(src: RealSource) -> tuple[np.ndarray, int]:
    # Each source is cropped many times; decode it once per process.
    if src.id not in _REAL_CACHE:
        _REAL_CACHE[src.id] = _load_real(src)
    return _REAL_CACHE[src.id]


def _source_slots(split: str, rng: np.random.Generator) -> list[RealSource]:
    """Sources of one split, each repeated by length so long recordings give more crops."""
    slots: list[RealSource] = []
    for src in REAL_SOURCES:
        if src.split != split:
            continue
        audio, rate = _load_real_cached(src)
        slots += [src] * (1 + min(4, int(len(audio) / rate // 3)))
    order = rng.permutation(len(slots))
    return [slots[i] for i in order]


def _sentence_pool(split: str) -> list[int]:
    part = {"training": (0, 1, 2), "validation": (3,), "testing": (4,)}[split]
    return [i for i in range(len(SENTENCES)) if i % 5 in part]


# --------------------------------------------------------------------------- clip makers


def _make_real(
    src: RealSource, prof: OutputProfile, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    audio, rate = _load_real_cached(src)
    target = float(rng.uniform(MIN_DURATION_S, MAX_DURATION_S))
    clip, offset = _crop(audio, rate, target, rng)
    info = {
        "recording": src.id,
        "offset_s": round(offset, 3),
        "source_rate": rate,
    }
    return _finish(clip, rate, prof), info


def _make_fake(
    sentence_ids: list[int], prof: OutputProfile, rng: np.random.Generator, tmp: Path
) -> tuple[np.ndarray, dict[str, Any]]:
    voice = _pick_voice(rng)
    parts, rate = [], 0
    for sid in sentence_ids:
        audio, rate = _speak(SENTENCES[sid], voice, tmp)
        parts += [audio, np.zeros(int(0.2 * rate))]
    audio = np.concatenate(parts[:-1])
    # TTS pads its output with silence, which real crops do not have; trim it the same way
    # real sources are trimmed so that edge silence is no label cue (padding comes later,
    # for both classes alike).
    lo, hi = _active_span(audio, rate)
    audio = audio[lo:hi]
    info: dict[str, Any] = dict(voice)
    info["sentences"] = sentence_ids
    if rng.random() < 0.15:  # some short fragments, like the short real crops
        audio, offset = _crop(audio, rate, float(rng.uniform(MIN_DURATION_S, 1.5)), rng)
        info["crop_offset_s"] = round(offset, 3)
    audio = audio[: int(MAX_DURATION_S * rate)]
    # TTS pauses are exact digital zeros while every real recording has a noise floor; a
    # faint seeded noise floor keeps "contains exact zeros" from being a label cue.
    floor_db = round(float(rng.uniform(-65.0, -50.0)), 1)
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = audio + rng.standard_normal(len(audio)) * peak * 10 ** (floor_db / 20)
    info["noise_floor_db"] = floor_db
    # Real sources are mostly 8 kHz telephone band; band-limit some fakes the same way so
    # bandwidth alone does not give the label away.
    if rate > 8000 and rng.random() < 0.3:
        audio, rate = _resample(audio, rate, 8000), 8000
        info["narrowband"] = True
    info["tts_rate"] = rate
    return _finish(audio, rate, prof), info


# --------------------------------------------------------------------------- build


def _normalise_counts(files: Mapping[str, Any] | None) -> dict[str, dict[str, int]]:
    """Accept {split: n} (n per class) or {split: {class: n}}; every split x class >= 1."""
    files = DEFAULT_FILES if files is None else files
    if set(files) != set(SPLITS):
        raise ValueError(f"files_per_class_and_split needs exactly the keys {SPLITS}")
    counts: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        value = files[split]
        if isinstance(value, Mapping):
            per = {c: int(value[c]) for c in CLASSES}
        else:
            per = {c: int(value) for c in CLASSES}
        if min(per.values()) < 1:
            raise ValueError(f"{split}: every class needs at least one file, got {per}")
        counts[split] = per
    return counts


def _flat_counts(counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    flat = {f"{s}/{c}": int(counts[s][c]) for s in SPLITS for c in CLASSES}
    flat["total"] = sum(flat.values())
    return flat


def _progress(stats: BuildStats) -> None:
    stats.done += 1
    if stats.done % PROGRESS_EVERY == 0 or stats.done == stats.total:
        print(f"demo corpus: {stats.done}/{stats.total} files", file=sys.stderr, flush=True)


def _build_split_class(
    root: Path, split: str, cls: str, n: int, seed: int, stats: BuildStats, tmp: Path
) -> None:
    s_idx, c_idx = SPLITS.index(split), CLASSES.index(cls)
    plan_rng = np.random.default_rng([seed, s_idx, c_idx, 1_000_000])
    profiles = _profiles(n, plan_rng)
    directory = root / split / cls
    directory.mkdir(parents=True, exist_ok=True)
    if cls == "real":
        slots = _source_slots(split, plan_rng)
    else:
        pool = _sentence_pool(split)
        pool = [pool[i] for i in plan_rng.permutation(len(pool))]
    for idx, prof in enumerate(profiles):
        # One generator per file, so a file's content depends on (seed, split, class, idx)
        # and the plan above, never on how many files were drawn before it.
        rng = np.random.default_rng([seed, s_idx, c_idx, idx])
        if cls == "real":
            frames, info = _make_real(slots[idx % len(slots)], prof, rng)
        else:
            sids = [pool[idx % len(pool)]]
            if rng.random() < 0.25:  # longer clips: two sentences by the same voice
                sids.append(pool[(idx + 1) % len(pool)])
            frames, info = _make_fake(sids, prof, rng, tmp)
        path = directory / _file_name(idx, prof, rng)
        _write(path, frames, prof)
        stats.entries.append(_entry(root, path, split, cls, frames, prof, info))
        _progress(stats)


def _entry(
    root: Path,
    path: Path,
    split: str,
    cls: str,
    frames: np.ndarray,
    prof: OutputProfile,
    info: dict[str, Any],
) -> dict[str, Any]:
    return {
        "path": path.relative_to(root).as_posix(),
        "split": split,
        "label": cls,
        "sample_rate": prof.rate,
        "channels": 2 if prof.stereo else 1,
        "frames": int(frames.shape[0]),
        "duration_s": round(frames.shape[0] / prof.rate, 3),
        "container": "FLAC" if prof.flac else "WAV",
        "subtype": "PCM_16",
        "sha256": _sha256(path),
        "leading_silence_s": prof.pad_lead_s,
        "trailing_silence_s": prof.pad_trail_s,
        "peak_dbfs": prof.peak_dbfs,
        "source": info,
    }


def _manifest(
    counts: dict[str, dict[str, int]],
    seed: int,
    entries: list[dict[str, Any]],
    versions: dict[str, str],
) -> dict[str, Any]:
    return {
        "generator": "fraudprep.demo_corpus",
        "manifest_version": MANIFEST_VERSION,
        "seed": seed,
        "counts": _flat_counts(counts),
        "real_recordings_shared_between_splits": False,
        "real_sources": [
            {
                "id": s.id,
                "split": s.split,
                "package": s.package,
                "path": str(s.path),
                "segment_s": [s.start_s, s.end_s],
                "licence": s.licence,
                "description": s.description,
            }
            for s in REAL_SOURCES
        ],
        "tts": {
            "espeak-ng": {"package": "espeak-ng", "licence": ESPEAK_LICENCE},
            "flite": {"package": "flite", "licence": FLITE_LICENCE},
            "versions": versions,
        },
        "sentences": list(SENTENCES),
        "files": sorted(entries, key=lambda e: e["path"]),
    }


def _already_built(out_dir: Path) -> dict[str, int] | None:
    manifest = out_dir / MANIFEST_NAME
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return {k: int(v) for k, v in data["counts"].items()}


def build_demo_corpus(
    out_dir: Path,
    files_per_class_and_split: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Build the demo corpus into out_dir and return file counts ("split/class" and "total").

    ``files_per_class_and_split`` maps each split to the number of files per class, or to
    ``{"real": n, "fake": m}``; default ``DEFAULT_FILES``. If out_dir already holds a
    complete corpus (its CORPUS.json exists) nothing is done and its counts are returned.
    The build happens in ``<out_dir>.partial`` and is moved into place only when complete.
    """
    out_dir = Path(out_dir)
    existing = _already_built(out_dir)
    if existing is not None:
        print(
            f"demo corpus: {out_dir} is already complete ({MANIFEST_NAME} present); nothing to do",
            file=sys.stderr,
        )
        return existing
    if out_dir.exists():
        if out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        else:
            raise DemoCorpusError(
                f"{out_dir} exists but has no {MANIFEST_NAME}; refusing to overwrite it "
                "(delete it or choose another directory)"
            )
    counts = _normalise_counts(files_per_class_and_split)
    _require_tools()
    _require_sources()
    _require_voices()
    versions = _tool_versions()

    partial = out_dir.with_name(out_dir.name + ".partial")
    if partial.exists():  # left over from an interrupted build
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    stats = BuildStats(total=sum(counts[s][c] for s in SPLITS for c in CLASSES))
    with tempfile.TemporaryDirectory(prefix="fraudprep-demo-") as tmp:
        for split in SPLITS:
            for cls in CLASSES:
                n = counts[split][cls]
                _build_split_class(partial, split, cls, n, seed, stats, Path(tmp))
    manifest = _manifest(counts, seed, stats.entries, versions)
    # The manifest is written last: its presence is what marks the corpus as complete.
    (partial / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    os.replace(partial, out_dir)
    print(f"demo corpus: wrote {stats.total} files to {out_dir}", file=sys.stderr)
    return _flat_counts(counts)


def write_protocol(corpus: Path, target: Path) -> int:
    """A listing of the corpus for ``dataset: csv`` (path,split,label,speaker,attack) in
    which each fake's attack is the TTS engine that spoke it and each speaker a recording or
    a voice: what per-attack results need, which the folder layout cannot say."""
    described = json.loads((corpus / MANIFEST_NAME).read_text(encoding="utf-8"))
    base = target.resolve().parent
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("path", "split", "label", "speaker", "attack"))
        for entry in described["files"]:
            source = entry["source"]
            fake = entry["label"] == "fake"
            speaker = source.get("voice", "") if fake else source.get("recording", "")
            attack = source.get("engine", "") if fake else "-"
            path = os.path.relpath((corpus / entry["path"]).resolve(), base)
            writer.writerow((path, entry["split"], entry["label"], speaker, attack))
    return len(described["files"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fraudprep.demo_corpus",
        description="Build the offline demo corpus of real and synthetic speech (FoR layout).",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--small", action="store_true", help="36 files instead of 300 (for tests)")
    parser.add_argument("--seed", type=int, default=0, help="RNG seed (default 0)")
    parser.add_argument(
        "--protocol", type=Path, metavar="CSV",
        help="also write a path,split,label,speaker,attack listing of the corpus to CSV",
    )  # fmt: skip
    args = parser.parse_args(argv)
    files = SMALL_FILES if args.small else DEFAULT_FILES
    try:
        counts = build_demo_corpus(args.out_dir, files, seed=args.seed)
    except DemoCorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(counts))
    if args.protocol:
        listed = write_protocol(args.out_dir, args.protocol)
        print(f"demo corpus: listed {listed} files with their TTS engine in {args.protocol}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
