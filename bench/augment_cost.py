"""What one augmented copy costs, per kind: milliseconds for a 4 s clip at 16 kHz (median of
``--runs``, after one warm-up run that loads PyAV and fills the file cache). Only prints.

Run from the project root: ``.venv/bin/python -m bench.augment_cost [--runs 9]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from fraudprep.extraction.augment import augment, copy_rng, parse_pool

RATE = 16000
SECONDS = 4.0


def speech_like(rate: int, seconds: float) -> np.ndarray:
    """A 120 Hz pulse train through three formants with a syllable envelope and breath noise."""
    rng = np.random.default_rng(0)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    pulses = np.diff(np.floor(np.cumsum(120 * (1 + 0.08 * np.sin(2 * np.pi * 1.7 * t))) / rate))
    y = scipy.signal.lfilter([1], [1, -0.95], np.concatenate([[0.0], pulses]))
    for centre, width in ((700, 110), (1220, 120), (2600, 160)):
        r = np.exp(-np.pi * width / rate)
        y = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * centre / rate), r * r], y)
    y = (y + 0.02 * np.std(y) * rng.standard_normal(n)) * (0.65 + 0.35 * np.sin(6 * np.pi * t))
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


def pool_config(folder: Path) -> list[dict]:
    """Every kind once (every codec, every RawBoost algorithm), with a noise and a RIR file."""
    rng = np.random.default_rng(1)
    (folder / "noises").mkdir()
    (folder / "rirs").mkdir()
    sf.write(folder / "noises" / "noise.wav", 0.1 * rng.standard_normal(10 * RATE), RATE)
    t = np.arange(int(0.5 * RATE)) / RATE
    rir = np.concatenate([[1.0], 0.1 * rng.standard_normal(len(t)) * np.exp(-t / 0.1)])
    sf.write(folder / "rirs" / "room.wav", rir, RATE)
    bitrates = {"mp3": [32, 32], "opus": [16, 16], "aac": [32, 32], "amr": [12.2, 12.2]}
    codecs = [
        {"kind": "codec", "codec": name} for name in ("mp3", "opus", "aac", "alaw", "mulaw", "amr")
    ]
    for codec in codecs:
        if codec["codec"] in bitrates:
            codec["bitrate_kbps"] = bitrates[codec["codec"]]
    return [
        *codecs,
        {"kind": "telephone"},
        *({"kind": "rawboost", "algorithm": a} for a in range(1, 9)),
        {"kind": "noise", "dir": str(folder / "noises"), "snr_db": [5, 20]},
        {"kind": "reverb", "rir_dir": str(folder / "rirs")},
    ]


def label(config: dict) -> str:
    if config["kind"] == "codec":
        kbps = config.get("bitrate_kbps")
        return f"codec {config['codec']}" + (f" {kbps[0]:g} kbps" if kbps else "")
    if config["kind"] == "rawboost":
        return f"rawboost {config['algorithm']}"
    return config["kind"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per kind (median)")
    args = parser.parse_args()
    x = speech_like(RATE, SECONDS)
    with tempfile.TemporaryDirectory() as folder:
        configs = pool_config(Path(folder))
        print(f"ms per copy of a {SECONDS:g} s clip at {RATE} Hz (median of {args.runs} runs)")
        for config, entry in zip(configs, parse_pool(configs), strict=True):
            augment(x, RATE, entry, copy_rng("warm-up", 0, 0))
            times = []
            for run in range(args.runs):
                rng = copy_rng("bench.wav", run, 0)
                start = time.perf_counter()
                augment(x, RATE, entry, rng)
                times.append(time.perf_counter() - start)
            print(f"{label(config):<22}{1000 * statistics.median(times):8.1f}")


if __name__ == "__main__":
    main()
