"""The fake class: fixed sentences read by espeak-ng and flite voices."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tools.demo_corpus.audio import MAX_DURATION_S, MIN_DURATION_S, active_span, crop, resample
from tools.demo_corpus.errors import INSTALL_HINT, DemoCorpusError
from tools.demo_corpus.output import OutputProfile, finish

ESPEAK_LICENCE = "GPL-3+ (program); the corpus holds only its generated audio"
FLITE_LICENCE = "CMU Flite licence, BSD-style (program and cmu_us_* voices)"

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


# --------------------------------------------------------------------------- the engines


def require_tools() -> None:
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            raise DemoCorpusError(f"{tool} not found: {INSTALL_HINT}")


def _run(cmd: list[str], check: bool = True) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError as exc:
        raise DemoCorpusError(f"{cmd[0]} not found: {INSTALL_HINT}") from exc
    if check and proc.returncode != 0:
        raise DemoCorpusError(f"{' '.join(cmd[:3])} ... failed: {proc.stderr.strip()}")
    return proc.stdout


def require_voices() -> None:
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


def tool_versions() -> dict[str, str]:
    espeak = _run(["espeak-ng", "--version"]).strip().splitlines()[0]
    # flite --version prints its banner but exits with status 1.
    flite_lines = _run(["flite", "--version"], check=False).splitlines()
    flite = next((ln.strip() for ln in flite_lines if "version" in ln), "unknown")
    return {"espeak-ng": espeak, "flite": flite}


def describe_engines(versions: dict[str, str]) -> dict[str, Any]:
    """The engines as CORPUS.json lists them."""
    return {
        "espeak-ng": {"package": "espeak-ng", "licence": ESPEAK_LICENCE},
        "flite": {"package": "flite", "licence": FLITE_LICENCE},
        "versions": versions,
    }


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


# --------------------------------------------------------------------------- fake clips


def sentence_pool(split: str) -> list[int]:
    part = {"training": (0, 1, 2), "validation": (3,), "testing": (4,)}[split]
    return [i for i in range(len(SENTENCES)) if i % 5 in part]


def _spoken(sentence_ids: list[int], voice: Mapping[str, Any], tmp: Path) -> tuple[np.ndarray, int]:
    """The sentences read by one voice, 0.2 s apart, trimmed to the speech."""
    parts, rate = [], 0
    for sid in sentence_ids:
        audio, rate = _speak(SENTENCES[sid], voice, tmp)
        parts += [audio, np.zeros(int(0.2 * rate))]
    audio = np.concatenate(parts[:-1])
    # TTS pads its output with silence, which real crops do not have; trim it the same way
    # real sources are trimmed so that edge silence is no label cue (padding comes later,
    # for both classes alike).
    lo, hi = active_span(audio, rate)
    return audio[lo:hi], rate


def make_fake(
    sentence_ids: list[int], prof: OutputProfile, rng: np.random.Generator, tmp: Path
) -> tuple[np.ndarray, dict[str, Any]]:
    """Synthetic speech through the output stage, and how it was made."""
    voice = _pick_voice(rng)
    audio, rate = _spoken(sentence_ids, voice, tmp)
    info: dict[str, Any] = dict(voice)
    info["sentences"] = sentence_ids
    if rng.random() < 0.15:  # some short fragments, like the short real crops
        audio, offset = crop(audio, rate, float(rng.uniform(MIN_DURATION_S, 1.5)), rng)
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
        audio, rate = resample(audio, rate, 8000), 8000
        info["narrowband"] = True
    info["tts_rate"] = rate
    return finish(audio, rate, prof), info
