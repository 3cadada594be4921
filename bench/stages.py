"""Per-stage breakdown: cProfile of our ``extract_chunk`` and of the seed's loop on the same
files, as ms per file for each stage and the functions with the most self time."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import BENCH_ROOT, model_settings, read_limits, say
from bench.corpus import evenly_spaced
from bench.inloop import chunk_for, worker_command
from bench.runner import run_measured, wait_for_quiet

if TYPE_CHECKING:
    from bench.report import Report

# Cumulative time of these functions (file name suffix, function name) is the stage breakdown.
OUR_STAGES = (
    ("decode + resample (load_mono)", "audio_io/__init__.py", "load_mono"),
    ("  soundfile read", "soundfile.py", "read"),
    ("  soxr resample", "soxr/__init__.py", "resample"),
    ("  header check (_wav_header_problem)", "audio_io/wav.py", "_wav_header_problem"),
    ("features (MelImageExtractor)", "features.py", "__call__"),
    ("  trim_silence", "features.py", "trim_silence"),
    ("  power_spectrogram (STFT)", "features.py", "power_spectrogram"),
    ("  unit_db", "features.py", "unit_db"),
    ("finite check + stats (ChunkStats.add_sample)", "stats.py", "add_sample"),
    ("batch write (BatchAccumulator.add)", "store.py", "add"),
    ("system memory check", "memory.py", "check_system_memory"),
)
SEED_STAGES = (
    ("librosa.load (decode + resample)", "core/audio.py", "load"),
    ("  resample", "core/audio.py", "resample"),
    ("librosa.effects.trim", "effects.py", "trim"),
    ("melspectrogram", "feature/spectral.py", "melspectrogram"),
    ("  stft", "core/spectrum.py", "stft"),
    ("power_to_db", "core/spectrum.py", "power_to_db"),
    ("scipy.ndimage.zoom", "ndimage/_interpolation.py", "zoom"),
    ("pickle batches (write_batch)", "seed_reference.py", "write_batch"),
)


def profile_summary(stats: Any, files: int, stages: Sequence[tuple[str, str, str]]) -> dict:
    """Top self-time functions and the stage breakdown, in ms per file."""
    table = stats.stats  # {(file, line, function): (calls, ncalls, self, cumulative, callers)}
    total = sum(entry[2] for entry in table.values())
    top = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:12]
    breakdown = []
    for name, suffix, function in stages:
        seconds = sum(
            entry[3]
            for (path, _, func), entry in table.items()
            if func == function and path.replace(os.sep, "/").endswith(suffix)
        )
        breakdown.append((name, 1000 * seconds / files))
    return {
        "files": files,
        "total_ms_per_file": 1000 * total / files,
        "top": [
            (f"{Path(path).name}:{line}({func})", entry[1], 1000 * entry[2] / files)
            for (path, line, func), entry in top
        ],
        "stages": breakdown,
    }


def profiled(function: Any, *args: Any, files: int, stages: Sequence) -> dict:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(function, *args)
    return profile_summary(pstats.Stats(profiler), files, stages)


def worker_profile(manifest: str, count: str, workdir: str) -> None:
    """cProfile our extract_chunk and the seed's loop over the same evenly spaced files."""
    import json
    import logging

    from bench import seed_reference
    from fraudprep.extraction.extract import extract_chunk
    from fraudprep.inputs.manifest import iter_manifest
    from fraudprep.inputs.manifest import write_manifest as write_rows

    logging.basicConfig(level=logging.WARNING)
    work = Path(workdir)
    rows = evenly_spaced(list(iter_manifest(manifest)), int(count))
    subset = work / "profile-manifest.csv"
    write_rows(rows, subset)
    settings, limits = model_settings(), read_limits()

    # Warm both up on one file: first calls pay lazy imports and librosa's numba compilation,
    # which would otherwise be a large part of a 200-file profile. The steady state matters.
    warm = work / "profile-warm-up"
    extract_chunk(str(subset), chunk_for(0, 1, 0), settings, warm, limits)
    shutil.rmtree(warm, ignore_errors=True)
    seed_reference.seed_features(rows[0].path)

    chunk = chunk_for(0, len(rows), 0)
    ours_out, seed_out = work / "profile-out", work / "profile-seed-out"
    ours = profiled(extract_chunk, str(subset), chunk, settings, ours_out, limits,
                    files=len(rows), stages=OUR_STAGES)  # fmt: skip
    shutil.rmtree(ours_out, ignore_errors=True)
    seed = profiled(seed_reference.run, subset, seed_out, 8, files=len(rows), stages=SEED_STAGES)
    shutil.rmtree(seed_out, ignore_errors=True)
    print(json.dumps({"ours": ours, "seed": seed}), flush=True)


def run_profile(report: Report, files: int) -> None:
    workdir = BENCH_ROOT / "runs" / f"plain-N{report.files}"
    say(f"profile: cProfile over {files} evenly spaced files, ours and the seed's")
    wait_for_quiet(report.max_wait_s)
    command = worker_command("_profile", workdir / "manifest.csv", files, workdir)
    [usage] = run_measured([command], [workdir / "profile.log"])
    report.profile = usage.summary()
