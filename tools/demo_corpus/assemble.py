"""Lay the corpus out: counts per split and class, CORPUS.json, publishing, protocol listing."""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fraudprep.base.atomic import atomic_write, fresh_partial_dir, publish_dir
from fraudprep.inputs.integrity import content_hash
from fraudprep.inputs.manifest import LABELS, SPLITS
from tools.demo_corpus import sources, tts
from tools.demo_corpus.errors import DemoCorpusError
from tools.demo_corpus.output import OutputProfile, draw_profiles, file_name, write_clip

CLASSES = tuple(LABELS)  # ("real", "fake")
MANIFEST_NAME = "CORPUS.json"
MANIFEST_VERSION = 1
# The name CORPUS.json has always recorded as its generator (the module's name inside the
# package until it moved to tools/). Kept so that the move changes no byte of the corpus:
# a corpus built before it and one built after compare equal.
GENERATOR = "fraudprep.demo_corpus"

# Files per class in each split. The default (300 files) builds in well under a minute on
# two cores; --small (36 files) is for tests.
DEFAULT_FILES: dict[str, int] = {"training": 70, "validation": 40, "testing": 40}
SMALL_FILES: dict[str, int] = {"training": 8, "validation": 5, "testing": 5}

PROGRESS_EVERY = 25


@dataclass
class BuildStats:
    done: int = 0
    total: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- counts


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


# --------------------------------------------------------------------------- one split x class


def _progress(stats: BuildStats) -> None:
    stats.done += 1
    if stats.done % PROGRESS_EVERY == 0 or stats.done == stats.total:
        print(f"demo corpus: {stats.done}/{stats.total} files", file=sys.stderr, flush=True)


def _build_split_class(
    root: Path, split: str, cls: str, n: int, seed: int, stats: BuildStats, tmp: Path
) -> None:
    s_idx, c_idx = SPLITS.index(split), CLASSES.index(cls)
    plan_rng = np.random.default_rng([seed, s_idx, c_idx, 1_000_000])
    profiles = draw_profiles(n, plan_rng)
    directory = root / split / cls
    directory.mkdir(parents=True, exist_ok=True)
    if cls == "real":
        slots = sources.source_slots(split, plan_rng)
    else:
        pool = tts.sentence_pool(split)
        pool = [pool[i] for i in plan_rng.permutation(len(pool))]
    for idx, prof in enumerate(profiles):
        # One generator per file, so a file's content depends on (seed, split, class, idx)
        # and the plan above, never on how many files were drawn before it.
        rng = np.random.default_rng([seed, s_idx, c_idx, idx])
        if cls == "real":
            frames, info = sources.make_real(slots[idx % len(slots)], prof, rng)
        else:
            sids = [pool[idx % len(pool)]]
            if rng.random() < 0.25:  # longer clips: two sentences by the same voice
                sids.append(pool[(idx + 1) % len(pool)])
            frames, info = tts.make_fake(sids, prof, rng, tmp)
        path = directory / file_name(idx, prof, rng)
        write_clip(path, frames, prof)
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
        "channels": prof.channels,
        "frames": int(frames.shape[0]),
        "duration_s": round(frames.shape[0] / prof.rate, 3),
        "container": prof.container,
        "subtype": "PCM_16",
        "sha256": content_hash(str(path)),
        "leading_silence_s": prof.pad_lead_s,
        "trailing_silence_s": prof.pad_trail_s,
        "peak_dbfs": prof.peak_dbfs,
        "source": info,
    }


# --------------------------------------------------------------------------- the corpus


def _manifest(
    counts: dict[str, dict[str, int]],
    seed: int,
    entries: list[dict[str, Any]],
    versions: dict[str, str],
) -> dict[str, Any]:
    return {
        "generator": GENERATOR,
        "manifest_version": MANIFEST_VERSION,
        "seed": seed,
        "counts": _flat_counts(counts),
        "real_recordings_shared_between_splits": False,
        "real_sources": sources.describe_sources(),
        "tts": tts.describe_engines(versions),
        "sentences": list(tts.SENTENCES),
        "files": sorted(entries, key=lambda e: e["path"]),
    }


def _already_built(out_dir: Path) -> dict[str, int] | None:
    manifest = out_dir / MANIFEST_NAME
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return {k: int(v) for k, v in data["counts"].items()}


def _refuse_foreign(out_dir: Path) -> None:
    """Stop before a build would replace something that is not a corpus (an empty directory
    is fine: publishing replaces it)."""
    if out_dir.exists() and not (out_dir.is_dir() and not any(out_dir.iterdir())):
        raise DemoCorpusError(
            f"{out_dir} exists but has no {MANIFEST_NAME}; refusing to overwrite it "
            "(delete it or choose another directory)"
        )


def _write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    with atomic_write(root / MANIFEST_NAME, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")


def build_demo_corpus(
    out_dir: Path,
    files_per_class_and_split: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Build the demo corpus into out_dir and return file counts ("split/class" and "total").

    ``files_per_class_and_split`` maps each split to the number of files per class, or to
    ``{"real": n, "fake": m}``; default ``DEFAULT_FILES``. If out_dir already holds a
    complete corpus (its CORPUS.json exists) nothing is done and its counts are returned.
    The build happens in a scratch directory beside out_dir (``fraudprep.base.atomic``) that is
    renamed into place only when complete.
    """
    out_dir = Path(out_dir)
    existing = _already_built(out_dir)
    if existing is not None:
        print(
            f"demo corpus: {out_dir} is already complete ({MANIFEST_NAME} present); nothing to do",
            file=sys.stderr,
        )
        return existing
    _refuse_foreign(out_dir)
    counts = _normalise_counts(files_per_class_and_split)
    tts.require_tools()
    sources.require_sources()
    tts.require_voices()
    versions = tts.tool_versions()

    scratch = fresh_partial_dir(out_dir)  # also removes scratch of interrupted builds
    stats = BuildStats(total=sum(counts[s][c] for s in SPLITS for c in CLASSES))
    with tempfile.TemporaryDirectory(prefix="fraudprep-demo-") as tmp:
        for split in SPLITS:
            for cls in CLASSES:
                n = counts[split][cls]
                _build_split_class(scratch, split, cls, n, seed, stats, Path(tmp))
    # The manifest is written last: its presence is what marks the corpus as complete.
    _write_manifest(scratch, _manifest(counts, seed, stats.entries, versions))
    publish_dir(scratch, out_dir)
    print(f"demo corpus: wrote {stats.total} files to {out_dir}", file=sys.stderr)
    return _flat_counts(counts)


def write_protocol(corpus: Path, target: Path) -> int:
    """A listing of the corpus for ``dataset: csv`` (path,split,label,speaker,attack) in
    which each fake's attack is the TTS engine that spoke it and each speaker a recording or
    a voice: what per-attack results need, which the folder layout cannot say."""
    described = json.loads((corpus / MANIFEST_NAME).read_text(encoding="utf-8"))
    base = target.resolve().parent
    with atomic_write(target, "w", newline="", encoding="utf-8") as handle:
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
