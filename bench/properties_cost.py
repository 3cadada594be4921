"""What the shortcut check's properties cost the extraction: ``extract_chunk_models`` over the
same files with the properties measured ("on") and with them left out ("off"), alternating
many times in one process (on, off, off, on, ...), outputs on a RAM disk: the machine's
drift (other tenants, clock speed, the disk's write-back) then falls on both alike, and the
cost is the median of the paired differences. Only prints.

Run from the project root:
``.venv/bin/python -m bench.properties_cost [--files 2000] [--runs-of 250] [--rounds 16]
[--models resnet]``.

"off" still writes ``properties.csv`` (a constant row per sample) and trims as before; what
it leaves out is what the check adds: the energy scan's whole-signal figures, the DC offset,
the features' spectrum sum and the bandwidth read off it, and formatting the values.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_ROOT, child_env, model_settings, read_limits, say
from bench.corpus import demo_sources, ensure_demo_corpus, main_corpus, write_manifest


def trimming_scan_only(samples):
    """fraudprep.extraction.energy's scan as trimming alone needs it: the RMS frames, none of the
    whole-signal figures the properties read off the same squares."""
    import numpy as np

    from fraudprep.extraction.energy import TRIM_FRAME_LENGTH, TRIM_HOP_LENGTH, EnergyScan

    hop, blocks_per_frame = TRIM_HOP_LENGTH, TRIM_FRAME_LENGTH // TRIM_HOP_LENGTH
    frames, lead = 1 + len(samples) // hop, blocks_per_frame // 2
    padded = np.zeros((frames + blocks_per_frame) * hop, dtype=np.float32)
    padded[lead * hop : lead * hop + len(samples)] = samples
    squares = np.square(padded, out=padded)
    block_energy = (squares.reshape(-1, hop) @ np.ones(hop, np.float32)).astype(np.float64)
    energy = sum(block_energy[k : k + frames] for k in range(blocks_per_frame))
    return EnergyScan(energy / TRIM_FRAME_LENGTH, 0.0, 0.0, 0.0, 0, 0)


def properties_off() -> list[tuple[Any, str, Any]]:
    """(owner, name, replacement): the property measurements as constants, the features'
    spectrum (the bandwidth's source) as none, the energy scan as trimming's share of it.
    The extractor then finds its own silence span, as it would without the check."""
    import fraudprep.extraction.energy as energy
    import fraudprep.extraction.per_file as per_file
    from fraudprep.extraction.features import SpectralExtractor
    from fraudprep.extraction.properties import PROPERTIES, SignalLevels, TrimmedShape

    levels, shape = SignalLevels(0.0, 0.0, 0.0, 0.0, 0.0), TrimmedShape(0.0, 0.0, 0.0)
    constant = [0] * len(PROPERTIES)

    extract_features = SpectralExtractor.extract

    def features_only(self, samples, with_spectrum=False):
        return extract_features(self, samples, with_spectrum=False)

    return [
        (per_file, "signal_levels", lambda samples: levels),
        (per_file, "trimmed_shape", lambda samples, rate, top_db: shape),
        (per_file, "bandwidth", lambda samples, rate: 0.0),
        (per_file, "file_properties", lambda size, audio, levels, shape, bandwidth_hz: constant),
        (SpectralExtractor, "extract", features_only),
        (energy, "_scan", trimming_scan_only),
    ]


def patched(replacements: list[tuple[Any, str, Any]]) -> list[tuple[Any, str, Any]]:
    """Apply ``replacements``; return what undoes them."""
    undo = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, replacement in replacements:
        setattr(owner, name, replacement)
    return undo


WARM_UP_FILES = 50


def worker(manifest: str, files: str, runs_of: str, rounds: str, models: str) -> None:
    """All the runs, in one process: each round runs "on" and "off" (the order alternating)
    over the next ``runs_of`` files of the first ``files``; prints one JSON line per run.
    Both variants first run once untimed, so that neither pays the process's first-time costs
    (imports, caches, plans) in a timed round."""
    from fraudprep.inputs.chunks import Chunk, chunk_id

    settings = [model_settings(model) for model in models.split(",")]
    size, total = int(runs_of), int(files)
    warm_up = Chunk(chunk_id(0), 0, min(WARM_UP_FILES, total))
    for variant in ("on", "off"):
        timed_run(manifest, warm_up, settings, variant)
    for round_index in range(int(rounds)):
        start = round_index * size % max(1, total - size + 1)
        chunk = Chunk(chunk_id(round_index), start, start + size)
        for variant in ("on", "off") if round_index % 2 == 0 else ("off", "on"):
            loop_s = timed_run(manifest, chunk, settings, variant)
            run = {"round": round_index, "variant": variant, "files": size, "loop_s": loop_s}
            print(json.dumps(run), flush=True)


def timed_run(manifest: str, chunk: Any, settings: list, variant: str) -> float:
    """Seconds ``extract_chunk_models`` takes over ``chunk`` with the properties ``variant``."""
    from fraudprep.extraction.extract import extract_chunk_models

    undo = patched(properties_off()) if variant == "off" else []
    scratch = Path(tempfile.mkdtemp(prefix="fraudprep-props-", dir=ram_disk()))
    try:
        outputs = [str(scratch / s.model) for s in settings]
        started = time.perf_counter()
        extract_chunk_models(manifest, chunk, settings, outputs, read_limits())
        return time.perf_counter() - started
    finally:
        patched(undo)
        shutil.rmtree(scratch, ignore_errors=True)


def ram_disk() -> str | None:
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


def measure(manifest: Path, files: int, runs_of: int, rounds: int, models: str) -> list[dict]:
    command = [sys.executable, "-m", "bench.properties_cost", "_worker",
               str(manifest), str(files), str(runs_of), str(rounds), models]  # fmt: skip
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the runs failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def ms_per_file(run: dict) -> float:
    return 1000 * run["loop_s"] / run["files"]


@dataclass(frozen=True)
class PropertiesCost:
    """The rounds' figures: ms per file on and off, and the paired differences."""

    models: str
    files_per_run: int
    on_ms: list[float]
    off_ms: list[float]

    @property
    def differences_ms(self) -> list[float]:
        return [on - off for on, off in zip(self.on_ms, self.off_ms, strict=True)]

    @property
    def shares(self) -> list[float]:
        """Each round's cost as a percentage of its "off" run."""
        return [100 * d / off for d, off in zip(self.differences_ms, self.off_ms, strict=True)]

    @property
    def median_share(self) -> float:
        return statistics.median(self.shares)

    @property
    def middle_half(self) -> tuple[float, float]:
        shares = self.shares
        if len(shares) < 2:
            return shares[0], shares[0]
        low, _, high = statistics.quantiles(shares, n=4)
        return low, high

    @classmethod
    def from_runs(cls, runs: list[dict], models: str) -> PropertiesCost:
        by_round: dict[int, dict[str, dict]] = {}
        for run in runs:
            by_round.setdefault(run["round"], {})[run["variant"]] = run
        pairs = list(by_round.values())
        return cls(
            models,
            runs[0]["files"],
            [ms_per_file(pair["on"]) for pair in pairs],
            [ms_per_file(pair["off"]) for pair in pairs],
        )


def measure_cost(
    manifest: Path, files: int, runs_of: int, rounds: int, models: str
) -> PropertiesCost:
    say(f"{rounds} rounds of {runs_of} files with the shortcut properties on and off, {models}")
    runs = measure(manifest, files, min(runs_of, files), rounds, models)
    return PropertiesCost.from_runs(runs, models)


def print_cost(cost: PropertiesCost) -> None:
    on, off = cost.on_ms, cost.off_ms
    print(f"models: {cost.models}; {len(on)} rounds of {cost.files_per_run} files, on and off")
    print(f"properties off: median {statistics.median(off):.3f} ms/file "
          f"(min {min(off):.3f}, max {max(off):.3f})")  # fmt: skip
    print(f"properties on:  median {statistics.median(on):.3f} ms/file "
          f"(min {min(on):.3f}, max {max(on):.3f})")  # fmt: skip
    rounds = ", ".join(f"{p:+.1f}" for p in cost.shares)
    low, high = cost.middle_half
    print(f"cost, median of the rounds' differences: {statistics.median(cost.differences_ms):+.3f} "
          f"ms/file = {cost.median_share:+.1f} %, middle half of the rounds "
          f"{low:+.1f} to {high:+.1f} % (rounds, %: {rounds})")  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench.properties_cost")
    parser.add_argument("--files", type=int, default=2000, help="corpus size")
    parser.add_argument("--runs-of", type=int, default=250, help="files per run")
    parser.add_argument("--rounds", type=int, default=16, help="on/off pairs")
    parser.add_argument("--models", default="resnet", help="comma-separated, one job for all")
    args = parser.parse_args()
    ensure_demo_corpus()
    manifest, files = corpus_manifest(args.files)
    print_cost(measure_cost(manifest, files, args.runs_of, args.rounds, args.models))


def corpus_manifest(files: int) -> tuple[Path, int]:
    """The manifest of the bench's main N-file corpus, and its rows."""
    corpus = main_corpus(files, demo_sources())
    manifest = BENCH_ROOT / "runs" / f"properties-N{files}" / "manifest.csv"
    return manifest, write_manifest(corpus, manifest)


if __name__ == "__main__":
    main()
