"""Test helpers: audio made from numpy signals, small FoR-layout trees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def speechlike(seconds: float, rate: int, seed: int = 0, channels: int = 1) -> np.ndarray:
    """A voiced-sounding test signal: harmonics with a wobbling pitch, syllable envelope, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 40 * rng.random() + 15 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * (2 + rng.random()) * t) ** 2
    signal = 0.2 * voice * envelope + 0.01 * rng.standard_normal(len(t))
    if channels == 1:
        return signal.astype(np.float32)
    return np.stack([signal * (1 - 0.3 * c) for c in range(channels)], axis=1).astype(np.float32)


def write_audio(
    path: Path,
    seconds: float = 1.0,
    rate: int = 16000,
    seed: int = 0,
    channels: int = 1,
    fmt: str | None = None,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, speechlike(seconds, rate, seed, channels), rate, format=fmt, subtype="PCM_16")
    return path


# (split, label, name, seconds, rate, channels)
TREE_FILES = [
    ("training", "real", "spk1 clip1.wav", 1.5, 16000, 1),
    ("training", "real", "spk1_clip2.WAV", 2.0, 44100, 2),
    ("training", "real", "spk1_clip10.flac", 0.8, 22050, 1),
    ("training", "fake", "tts_1.wav", 1.2, 16000, 1),
    ("training", "fake", "tts_2.flac", 3.0, 48000, 2),
    ("training", "fake", "tts_3.wav", 0.6, 8000, 1),
    ("validation", "real", "v_real_1.wav", 1.0, 16000, 1),
    ("validation", "fake", "v_fake_1.wav", 1.0, 22050, 1),
    ("testing", "real", "t_real_1.flac", 1.1, 16000, 1),
    ("testing", "fake", "t_fake_1.wav", 0.9, 44100, 1),
    ("testing", "fake", "t_fake_2.wav", 2.5, 16000, 1),
]


def build_tree(root: Path, files=TREE_FILES) -> Path:
    for seed, (split, label, name, seconds, rate, channels) in enumerate(files):
        write_audio(root / split / label / name, seconds, rate, seed, channels)
    return root


def snakemake_command(workdir: Path, *args: str, default_profile: bool = True) -> list[str]:
    """This checkout's workflow run in ``workdir`` with the shipped config, as a user would
    from the repository, but with outputs, logs and locks kept in ``workdir``."""
    profile = ["--workflow-profile", str(REPO / "profiles" / "default")] if default_profile else []
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--configfile", str(REPO / "config.yaml"), *profile, "--directory", str(workdir), *args,
    ]  # fmt: skip


# A small tree's run as most workflow tests make it: the tree under <workdir>/corpus, no figures.
TREE_RUN = ("input_dir=corpus", "report_figures=False")


def run_tree(workdir: Path, *config: str, models: str = "[unetr]") -> str:
    """Run the workflow on the tree under ``workdir``; assert it succeeds; return its output."""
    run = subprocess.run(
        snakemake_command(
            workdir, "--cores", "2", "--config", *TREE_RUN, f"models={models}", *config
        ),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return run.stdout + run.stderr


def run_steps(
    out: Path,
    model: str,
    dataset,
    *,
    storage: str = "pickle",
    batch_size: int = 3,
    chunk_size: int = 4,
    min_duration: float = 0.0,
    max_failure_fraction: float = 1.0,
    hash_files: bool = True,
    plan=None,
    profile_overrides: dict | None = None,
) -> dict:
    """The workflow's steps for one model, called directly (no Snakemake): manifest of
    ``dataset`` (a DatasetConfig), chunks, settings.json, extraction, aggregation; returns the
    dataset statistics. ``profile_overrides``: keys of the model's feature profile to change."""
    import json

    import yaml

    from fraudprep.base.formats import storage_format
    from fraudprep.extraction.extract import ReadLimits, extract_chunk
    from fraudprep.inputs.chunks import write_chunks
    from fraudprep.inputs.manifest_build import build_manifest
    from fraudprep.outputs.aggregate import aggregate_model
    from fraudprep.run.settings import resolve_model_settings

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = {**config, "batch_size": batch_size, "format": storage}
    if profile_overrides:
        profiles = config["feature_profiles"]
        profiles = {**profiles, model: {**profiles[model], **profile_overrides}}
        config["feature_profiles"] = profiles
    settings = resolve_model_settings(config, model)
    manifest, leakage = out / "manifest.csv", out / "leakage.csv"
    build_manifest(manifest, dataset, leakage_path=leakage, hash_files=hash_files)
    chunks = write_chunks(manifest, chunk_size, out / "chunks.csv")
    model_dir = out / model
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "settings.json").write_text(json.dumps(settings.as_dict()))
    dirs = [model_dir / "chunks" / chunk.id for chunk in chunks]
    for chunk, chunk_dir in zip(chunks, dirs, strict=True):
        limits = ReadLimits(min_duration=min_duration)
        extract_chunk(manifest, chunk, settings, chunk_dir, limits, plan)
    files = storage_format(storage)
    return aggregate_model(
        chunks, dirs, model_dir, model_dir / files.metadata_name, model_dir / files.stats_name,
        model_dir / "failures.csv", max_failure_fraction, leakage,
        copy_failures_path=None if plan is None else model_dir / "copy_failures.csv",
    )  # fmt: skip


# In-memory conveniences over the library's streaming readers, for small test inputs: the
# workflow itself never holds a dataset in memory, so these live with the tests.


def run_tree_steps(
    tree: Path,
    out: Path,
    model: str = "unetr",
    chunk_size: int = 2,
    batch_size: int = 2,
    max_failure_fraction: float = 0.5,
) -> dict:
    """The manifest, chunk, extraction and aggregation steps on a folder tree, as the workflow
    runs them, with small chunks and batches."""
    from fraudprep.inputs.datasets import DatasetConfig

    return run_steps(
        out, model, DatasetConfig(input_dir=str(tree)), batch_size=batch_size,
        chunk_size=chunk_size, min_duration=0.1, max_failure_fraction=max_failure_fraction,
    )  # fmt: skip


def collect_rows(cfg):
    """The configured dataset's checked manifest rows, sorted by split and path."""
    from fraudprep.inputs.datasets import iter_rows
    from fraudprep.inputs.manifest import row_sort_key

    return sorted(iter_rows(cfg), key=row_sort_key)


def read_manifest_csv(manifest_path, columns=None, label_map=None):
    """A user's CSV or TSV as checked, sorted manifest rows."""
    from fraudprep.inputs.datasets.csv_listing import iter_manifest_csv
    from fraudprep.inputs.manifest import row_sort_key

    return sorted(iter_manifest_csv(manifest_path, columns, label_map), key=row_sort_key)


def find_leaks(rows):
    """Groups of byte-identical files that cross splits or carry both labels."""
    from fraudprep.inputs.integrity import LeakFinder

    with LeakFinder() as finder:
        for row in rows:
            finder.add(row)
        return list(finder)


def sorted_externally(items, key=None, spill_dir=None):
    """``sorted(items, key=key)`` through the library's bounded-memory external sort."""
    from fraudprep.base.extsort import ExternalSort

    with ExternalSort(key, spill_dir) as sorter:
        sorter.extend(items)
        yield from sorter


def random_rows(count: int, seed: int = 0) -> list:
    """``count`` manifest rows with repeated paths and hashes, in no order."""
    import random

    from fraudprep.inputs.manifest import ManifestRow

    rng = random.Random(seed)
    splits = ("training", "validation", "testing")
    return [
        ManifestRow(
            f"/d{rng.randrange(3)}/{rng.choice(['clip', 'Clip', 'x'])}{rng.randrange(30)}.wav",
            rng.choice(splits),
            rng.randrange(2),
            rng.randrange(100),
            hash=f"{rng.randrange(12):032x}" if rng.random() < 0.9 else "",
        )
        for _ in range(count)
    ]


def spill_dirs(where: Path) -> list[Path]:
    """The folders an external sort spills its runs into under ``where``."""
    return list(where.glob(".extsort-*"))


def cli(*arguments: str, cwd: Path = REPO):
    """``python -m fraudprep.cli`` in a process of its own, as a user runs it (the
    CompletedProcess)."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "fraudprep.cli", *arguments],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def assert_real_png(path: Path, min_bytes: int = 5000) -> np.ndarray:
    """A valid PNG of some size whose pixels are not all the same, without software/date: a
    figure was drawn, not which one (see bar_heights and drawn_figures for what it shows)."""
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert len(data) > min_bytes, (path, len(data))
    assert b"Software" not in data and b"matplotlib" not in data.lower(), path
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100, path
    assert float(pixels[..., :3].std()) > 0.01, f"{path} is blank"
    return pixels


def bar_heights(ax, horizontal: bool = False) -> list[float]:
    """The lengths of the bars drawn on ``ax``, in the order they were drawn (a bar chart's
    data, read back from the figure)."""
    from matplotlib.patches import Rectangle

    bars = [patch for patch in ax.patches if isinstance(patch, Rectangle)]
    return [bar.get_width() if horizontal else bar.get_height() for bar in bars]


def tick_labels(axis) -> list[str]:
    """The tick labels of an x or y axis, as drawn."""
    return [label.get_text() for label in axis.get_ticklabels()]


def figure_texts(figure) -> list[str]:
    """Every text of a figure: titles, messages, bar labels, tick labels."""
    from matplotlib.text import Text

    return [text.get_text() for text in figure.findobj(Text) if text.get_text()]
