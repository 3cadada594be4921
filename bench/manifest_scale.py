"""Memory and time of the manifest step, the split step and the DAG-time fingerprint at scale.

A benchmark script, not a test. It builds a corpus of hard links under
``data/manifest_scale/`` (``--files`` links to ``--contents`` tiny distinct files, so content
hashing finds groups of identical files, as a real corpus with duplicates would, and one
planted train/test leak), writes a CSV manifest of it in shuffled order, then runs each step
in a fresh child process and reports the child's wall time and peak RSS (``ru_maxrss``, which
includes the interpreter and imports, about 15-20 MB).

Usage: python -m bench.manifest_scale [--sizes 100000,1000000] [--src DIR] [--keep] [--repeat 1]

``--src`` picks the fraudprep source tree measured (default: this checkout's ``src``), so the
same corpus can measure the code before and after a change. The corpus is deleted at the end
unless ``--keep`` is given (1M links take ~1 minute to make and ~4 GB of inodes/blocks: check
``df -h``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO
from bench.corpus import UNEVEN_SHARES, split_by_share

ROOT = REPO / "data" / "manifest_scale"
LINKS_PER_DIR = 1000

# Each step runs in its own interpreter: peak RSS is then the step's alone. The child prints
# one JSON line with its wall time and ru_maxrss (KiB on Linux).
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
step, manifest, out = sys.argv[2], sys.argv[3], sys.argv[4]
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest, source_fingerprint
from fraudprep.inputs.chunks import write_chunks
cfg = DatasetConfig("csv", listing=manifest)
start = time.perf_counter()
if step == "manifest":
    build_manifest(out + "/manifest.csv", cfg, out + "/leakage.csv", hash_files=False)
elif step == "manifest+hash":
    build_manifest(out + "/manifest.csv", cfg, out + "/leakage.csv", hash_files=True)
elif step == "split":
    write_chunks(out + "/manifest.csv", 512, out + "/chunks.csv")
elif step == "fingerprint":
    source_fingerprint(cfg)
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall": wall, "rss_mb": rss}))
"""


def content_index(row: int, files: int, contents: int) -> int:
    """Consecutive blocks of rows share a content file, so a block is one hash group."""
    return row * contents // files


def split_of(row: int, files: int) -> str:
    """Consecutive rows by share: 70 % training, 15 % validation, 15 % testing."""
    return split_by_share(row / files, UNEVEN_SHARES)


def build_corpus(files: int, contents: int) -> Path:
    """``files`` hard links to ``contents`` distinct small files, reused if already complete."""
    corpus = ROOT / f"N{files}"
    marker = corpus / "DONE.json"
    if marker.exists() and json.loads(marker.read_text()) == {"files": files, "contents": contents}:
        return corpus
    shutil.rmtree(corpus, ignore_errors=True)
    originals = corpus / "originals"
    originals.mkdir(parents=True)
    for c in range(contents):
        # Not valid audio: the manifest step never decodes, it only stats and hashes.
        (originals / f"c{c}.wav").write_bytes(b"RIFF" + c.to_bytes(8, "little") * 8)
    for row in range(files):
        folder = corpus / "links" / f"d{row // LINKS_PER_DIR:04d}"
        if row % LINKS_PER_DIR == 0:
            folder.mkdir(parents=True)
        os.link(
            originals / f"c{content_index(row, files, contents)}.wav", folder / f"clip{row}.wav"
        )
    marker.write_text(json.dumps({"files": files, "contents": contents}))
    return corpus


def write_listing(corpus: Path, files: int, contents: int, rows: int) -> Path:
    """A CSV of ``rows`` evenly spaced links of the corpus, in shuffled order, one planted leak."""
    listing = corpus / f"list{rows}.csv"
    step = files // rows
    picked = list(range(0, files, step))[:rows]
    random.Random(0).shuffle(picked)
    with open(listing, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "split", "label"))
        for row in picked:
            label = "fake" if content_index(row, files, contents) % 2 else "real"
            split = split_of(row, files)
            writer.writerow((f"links/d{row // LINKS_PER_DIR:04d}/clip{row}.wav", split, label))
    # The planted leak: a copy of a training file listed in testing.
    leak = corpus / "links" / "leak.wav"
    if not leak.exists():
        os.link(corpus / "originals" / "c0.wav", leak)
    with open(listing, "a", newline="") as handle:
        csv.writer(handle).writerow(("links/leak.wav", "testing", "real"))
    return listing


def measure(src: Path, step: str, listing: Path, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), step, str(listing), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{step} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--contents", type=int, default=1000)
    parser.add_argument("--src", type=Path, default=REPO / "src")
    parser.add_argument("--steps", default="manifest,manifest+hash,split,fingerprint")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest kept")
    parser.add_argument("--keep", action="store_true", help="keep the corpus for another run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    files = max(sizes)
    start = time.perf_counter()
    corpus = build_corpus(files, args.contents)
    print(f"corpus of {files} links ready in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print(f"src: {args.src.resolve()}")
    print("| rows | step | wall s | peak RSS MB |\n|---:|---|---:|---:|")
    try:
        for rows in sizes:
            listing = write_listing(corpus, files, args.contents, rows)
            out = corpus / f"out{rows}"
            out.mkdir(exist_ok=True)
            for step in args.steps.split(","):
                runs = [measure(args.src, step, listing, out) for _ in range(args.repeat)]
                best = min(runs, key=lambda r: r["wall"])
                print(f"| {rows:,} | {step} | {best['wall']:.1f} | {best['rss_mb']:.0f} |")
                sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
