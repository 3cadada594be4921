"""Corpora: hard links to the demo corpus in the FoR layout, deterministic unique names, and
the library's own manifests of them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_ROOT, REPO, BenchError, child_env, say
from fraudprep.base.atomic import link_or_copy
from fraudprep.inputs.datasets.folder import is_audio_name
from fraudprep.inputs.manifest import LABELS, SPLITS

DEMO_DIR = REPO / "data" / "demo"
DEMO_LISTING = "CORPUS.json"  # the demo builder writes it last: present means complete
CORPUS_MARKER = "BENCH_CORPUS.json"  # written last: its presence means the corpus is complete
# Issue 13's uneven dataset: most files in training, as real corpora have them.
UNEVEN_SHARES: Mapping[str, float] = {"training": 0.70, "validation": 0.15, "testing": 0.15}
# Demo files are dealt to the uneven splits in runs of this many (14 / 3 / 3 for 70/15/15):
# short enough that every split gets files of every demo folder (both labels, every format).
SHARE_CYCLE = 20


@dataclass(frozen=True)
class Source:
    """One demo file and what decides its cost: sample rate and channel count."""

    path: Path
    split: str
    label: str
    sample_rate: int
    channels: int


def demo_corpus_command(out_dir: Path) -> list[str]:
    """The one place that knows how to build the demo corpus (its builder may move)."""
    return [sys.executable, "-m", "tools.demo_corpus", str(out_dir)]


def ensure_demo_corpus() -> None:
    if (DEMO_DIR / DEMO_LISTING).is_file():
        return
    say(f"no demo corpus at {DEMO_DIR}; building it (needs `make system-deps`)")
    subprocess.run(demo_corpus_command(DEMO_DIR), check=True, cwd=REPO, env=child_env())


def demo_sources() -> list[Source]:
    """The demo files in a fixed order, with rate and channels from its CORPUS.json.

    Read from the JSON rather than the audio so that this process never imports numpy: a
    child's ru_maxrss starts at its parent's RSS (see README), so the parent stays small.
    """
    listing = json.loads((DEMO_DIR / DEMO_LISTING).read_text(encoding="utf-8"))["files"]
    sources = [
        Source(DEMO_DIR / entry["path"], entry["split"], entry["label"],
               int(entry["sample_rate"]), int(entry["channels"]))
        for entry in sorted(listing, key=lambda entry: entry["path"])
        if is_audio_name(entry["path"])
    ]  # fmt: skip
    missing = [source.path for source in sources if not source.path.is_file()]
    if not sources or missing:
        raise BenchError(f"{DEMO_DIR} is incomplete ({missing[:3]}); rebuild: make demo-data")
    return sources


def sources_digest(sources: Sequence[Source]) -> str:
    # Size and mtime too: a rebuilt demo corpus has new inodes, and old links would be stale.
    digest = hashlib.sha256()
    for source in sources:
        stat = source.path.stat()
        digest.update(f"{source.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def split_by_share(position: float, shares: Mapping[str, float]) -> str:
    """The split whose share of [0, 1) holds ``position`` (shares in order, summing to 1)."""
    edge = 0.0
    for split, share in shares.items():
        edge += share
        if position < edge:
            return split
    return list(shares)[-1]


def shares_label(shares: Mapping[str, float]) -> str:
    return "/".join(f"{100 * share:.0f}" for share in shares.values())


def uneven_split(source_index: int, shares: Mapping[str, float]) -> str:
    """A demo file's split in the uneven corpus. By source, not by link: every link to one
    demo file stays in one split, so the same audio never crosses splits (the manifest step
    would report thousands of leaks, work the even corpus does not do)."""
    return split_by_share((source_index % SHARE_CYCLE + 0.5) / SHARE_CYCLE, shares)


def link_target(
    corpus: Path, index: int, sources: Sequence[Source], shares: Mapping[str, float] | None
) -> Path:
    """Where link ``index`` goes: in its demo file's own split/label directory, or with
    ``shares``, in the split :func:`uneven_split` gives it, named with the demo file's split
    too, since demo files of different splits share names."""
    source = sources[index % len(sources)]
    repeat = f"r{index // len(sources):04d}"
    if shares is None:
        return corpus / source.split / source.label / f"{repeat}_{source.path.name}"
    split = uneven_split(index % len(sources), shares)
    return corpus / split / source.label / f"{repeat}_{source.split}_{source.path.name}"


def corpus_identity(
    count: int, sources: Sequence[Source], shares: Mapping[str, float] | None
) -> dict[str, Any]:
    identity: dict[str, Any] = {"files": count, "sources": sources_digest(sources)}
    if shares is not None:  # the even corpus's marker stays as it was: old corpora are reused
        identity["splits"] = dict(shares)
    return identity


def build_corpus(
    root: Path,
    count: int,
    sources: Sequence[Source],
    shares: Mapping[str, float] | None = None,
) -> Path:
    """``count`` files under ``root/corpus``: file i links to source i mod len(sources), named
    ``r<i // len>_<name>``, in the source's split/label directory (or, with ``shares``, in
    the split given by :func:`uneven_split`). Reused when complete."""
    corpus, marker = root / "corpus", root / CORPUS_MARKER
    expected = corpus_identity(count, sources, shares)
    # Complete = the marker (written last) matches, and nobody added or removed files since.
    complete = marker.is_file() and json.loads(marker.read_text()) == expected
    if complete and count_files(corpus) == count:
        say(f"reusing {count}-file corpus {corpus.relative_to(REPO)}")
        return corpus
    say(f"building {count}-file corpus {corpus.relative_to(REPO)} (hard links)")
    marker.unlink(missing_ok=True)
    shutil.rmtree(corpus, ignore_errors=True)
    for split in SPLITS:
        for label in LABELS:
            (corpus / split / label).mkdir(parents=True)
    for index in range(count):
        source = sources[index % len(sources)]
        link_or_copy(source.path, link_target(corpus, index, sources, shares))
    marker.write_text(json.dumps(expected))
    return corpus


def main_corpus(files: int, sources: Sequence[Source]) -> Path:
    """The N-file corpus with the demo corpus's own splits, that a, b, b1 and c share."""
    return build_corpus(BENCH_ROOT / f"N{files}", files, sources)


def uneven_corpus(files: int, sources: Sequence[Source]) -> Path:
    """The same N links as :func:`main_corpus`, split 70/15/15."""
    return build_corpus(BENCH_ROOT / f"N{files}-uneven", files, sources, UNEVEN_SHARES)


def split_counts(corpus: Path) -> dict[str, int]:
    return {split: count_files(corpus / split) for split in SPLITS}


def write_manifest(corpus: Path, manifest: Path) -> int:
    """The library's own manifest of ``corpus`` (the rows the workflow would extract)."""
    from fraudprep.inputs.datasets.folder import scan_for_tree
    from fraudprep.inputs.manifest import write_manifest as write_rows

    manifest.parent.mkdir(parents=True, exist_ok=True)
    return write_rows(scan_for_tree(corpus), manifest)


def evenly_spaced(rows: Sequence[Any], count: int) -> list[Any]:
    """``count`` rows spread over the whole table, so every split and format is represented."""
    if count >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // count] for i in range(count)]


def write_subset_manifest(manifest: Path, count: int, target: Path) -> int:
    """``count`` evenly spaced rows of ``manifest``, as a manifest of their own."""
    from fraudprep.inputs.manifest import iter_manifest
    from fraudprep.inputs.manifest import write_manifest as write_rows

    return write_rows(evenly_spaced(list(iter_manifest(manifest)), count), target)
