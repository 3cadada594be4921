"""The real class: human recordings that Debian packages install as files, and crops of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tools.demo_corpus.audio import MAX_DURATION_S, MIN_DURATION_S, crop
from tools.demo_corpus.errors import INSTALL_HINT, DemoCorpusError
from tools.demo_corpus.output import OutputProfile, finish

CODEC2_RAW = Path("/usr/share/codec2/raw")
CODEC2_WAV = Path("/usr/share/codec2/wav")
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")

CODEC2_LICENCE = (
    "LGPL-2.1 (Debian codec2-examples copyright: raw/*, wav/* (c) 2007-2019 David Rowe)"
)
ALSA_LICENCE = "GPL-2 (Debian alsa-utils copyright, Files: *)"


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


def require_sources() -> None:
    for src in REAL_SOURCES:
        if not src.path.is_file():
            raise DemoCorpusError(
                f"{src.path} not found (Debian package {src.package}): {INSTALL_HINT}"
            )


def describe_sources() -> list[dict[str, Any]]:
    """The source table as CORPUS.json lists it."""
    return [
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
    ]


# Each source is cropped many times; decode it once per process (RealSource is hashable).
@cache
def _load(src: RealSource) -> tuple[np.ndarray, int]:
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


def source_slots(split: str, rng: np.random.Generator) -> list[RealSource]:
    """Sources of one split, each repeated by length so long recordings give more crops."""
    slots: list[RealSource] = []
    for src in REAL_SOURCES:
        if src.split != split:
            continue
        audio, rate = _load(src)
        slots += [src] * (1 + min(4, int(len(audio) / rate // 3)))
    order = rng.permutation(len(slots))
    return [slots[i] for i in order]


def make_real(
    src: RealSource, prof: OutputProfile, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """A crop of one recording through the output stage, and how it was derived."""
    audio, rate = _load(src)
    target = float(rng.uniform(MIN_DURATION_S, MAX_DURATION_S))
    clip, offset = crop(audio, rate, target, rng)
    info = {
        "recording": src.id,
        "offset_s": round(offset, 3),
        "source_rate": rate,
    }
    return finish(clip, rate, prof), info
