"""A model's settings: its feature profile (what its input looks like, as data rather than
per-model scripts), batch size, memory mode and storage format, resolved once and written to
``<output_dir>/<model>/settings.json``.

A profile comes from the ``feature_profiles`` block of ``config.yaml``; the memory mode may cap
it (the seed's low-memory settings), and the batch size is resolved from config, profile and
memory mode in that order of precedence.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudprep.base.atomic import atomic_write
from fraudprep.base.layout import SETTINGS
from fraudprep.base.memory import MEMORY_MODES, resolve_memory_mode


class ConfigError(ValueError):
    """The configuration cannot work; the message says which key and what to do."""


def checked_output_dir(path: str) -> str:
    """output_dir as the workflow uses it, without a trailing slash. Braces are refused:
    Snakemake reads them in output paths as wildcards, with a confusing error."""
    if "{" in path or "}" in path:
        raise ConfigError(
            f"output_dir {path!r} contains {{ or }}, which Snakemake reads as wildcards; "
            "choose a folder name without braces"
        )
    return path.rstrip("/")


KINDS = ("mel_image", "lfcc", "raw")
PAD_MODES = ("zeros", "repeat")
# How samples are stored (the loader gives float32 back): float16 and uint8 are the compact
# choices (docs/output-formats.md); int16 is for waveforms, uint8 for mel images in [0, 1].
DTYPES = ("float32", "float16", "uint8", "int16")
# The narrowest dtype each kind can take, for the config's top-level ``dtype: compact``.
COMPACT_DTYPES = {"mel_image": "uint8", "lfcc": "float16", "raw": "float16"}
log = logging.getLogger(__name__)

# Each model's resolved settings, next to its outputs.
SETTINGS_FILE = SETTINGS  # fraudprep.base.layout owns the name


@dataclass(frozen=True)
class FeatureProfile:
    """A front-end: audio -> fixed-length clip -> features of one fixed shape.

    ``kind`` picks the front-end: ``mel_image`` (log-mel image in [0, 1]), ``lfcc`` (linear
    cepstra with deltas, the LFCC-LCNN baseline's input) or ``raw`` (the waveform itself, as
    AASIST and RawNet2 take it).
    """

    kind: str = "mel_image"
    sample_rate: int = 16000
    duration: float = 10.0
    trim_top_db: float | None = 20.0
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float = 80.0
    height: int | None = None
    width: int | None = None
    channels: int = 1
    patch_size: int | None = None
    batch_size: int | None = None
    win_length: int | None = None  # analysis window; None means n_fft
    n_filters: int = 20  # lfcc: linear triangular filters
    n_lfcc: int = 20  # lfcc: cepstral coefficients kept
    deltas: bool = True  # lfcc: append first and second differences
    pad_mode: str = "zeros"  # short clips: pad with zeros, or repeat them (AASIST's way)
    dtype: str = "float32"  # float16 for every kind, uint8 for mel images, int16 for raw
    # Shortcut removal (docs/shortcuts.md); None leaves the audio as it is.
    lowpass_hz: float | None = None  # band-limit every file to this (a common bandwidth)
    loudness_dbfs: float | None = None  # RMS of the trimmed signal brought to this level

    @property
    def num_samples(self) -> int:
        return round(self.duration * self.sample_rate)

    @property
    def num_frames(self) -> int:
        # Centred STFT frames over the fixed-length clip.
        return 1 + self.num_samples // self.hop_length

    @property
    def output_shape(self) -> tuple[int, ...]:
        if self.kind == "raw":
            return (self.num_samples,)
        if self.kind == "lfcc":
            return (self.n_lfcc * (3 if self.deltas else 1), self.num_frames)
        height = self.height or self.n_mels
        width = self.width or self.num_frames
        return (height, width) if self.channels == 1 else (height, width, self.channels)

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        # Options added later are left out while unset: settings written before them, and the
        # outputs recorded with them, stay what they were.
        for key in OPTIONAL_WHEN_UNSET:
            if values[key] is None:
                del values[key]
        return values


OPTIONAL_WHEN_UNSET = ("lowpass_hz", "loudness_dbfs")


_FIELDS = {f.name for f in dataclasses.fields(FeatureProfile)}


def profile_from_mapping(name: str, values: dict[str, Any]) -> FeatureProfile:
    """Build a profile from its config block, rejecting unknown keys and impossible values."""
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"feature_profiles.{name}: unknown key(s) {unknown}; known keys are {sorted(_FIELDS)}"
        )
    profile = FeatureProfile(**values)
    check_profile(name, profile)
    return profile


def check_profile(name: str, profile: FeatureProfile) -> None:
    problems = []
    for key, allowed in (("kind", KINDS), ("pad_mode", PAD_MODES), ("dtype", DTYPES)):
        if getattr(profile, key) not in allowed:
            problems.append(f"{key} must be one of {list(allowed)}, not {getattr(profile, key)!r}")
    if profile.dtype == "int16" and profile.kind != "raw":
        problems.append("dtype int16 is only for kind raw (features are not integers)")
    if profile.dtype == "uint8" and profile.kind != "mel_image":
        problems.append("dtype uint8 is only for kind mel_image (images in [0, 1])")
    if profile.kind == "lfcc" and profile.n_lfcc > profile.n_filters:
        problems.append(f"n_lfcc {profile.n_lfcc} exceeds n_filters {profile.n_filters}")
    if (profile.win_length or profile.n_fft) > profile.n_fft:
        problems.append(f"win_length {profile.win_length} exceeds n_fft {profile.n_fft}")
    if profile.hop_length > profile.n_fft:
        problems.append(f"hop_length {profile.hop_length} exceeds n_fft {profile.n_fft}")
    if profile.n_mels > profile.n_fft // 2 + 1:
        problems.append(f"n_mels {profile.n_mels} exceeds the {profile.n_fft // 2 + 1} FFT bins")
    nyquist = profile.sample_rate / 2
    if profile.fmax is not None and not profile.fmin < profile.fmax <= nyquist:
        problems.append(f"need fmin < fmax <= {nyquist} Hz (sample_rate / 2)")
    if profile.lowpass_hz is not None and not 0 < profile.lowpass_hz < nyquist:
        problems.append(f"lowpass_hz must be above 0 and below {nyquist} Hz (sample_rate / 2)")
    if profile.loudness_dbfs is not None and not profile.loudness_dbfs < 0:
        problems.append(f"loudness_dbfs must be below 0 (full scale), not {profile.loudness_dbfs}")
    if profile.channels not in (1, 3):
        problems.append(f"channels must be 1 or 3, not {profile.channels}")
    if profile.patch_size and profile.kind == "mel_image":
        for side in profile.output_shape[:2]:
            if side % profile.patch_size:
                problems.append(
                    f"output side {side} is not divisible by patch_size {profile.patch_size}"
                )
    if problems:
        raise ConfigError(f"feature_profiles.{name}: " + "; ".join(problems))


def apply_caps(profile: FeatureProfile, caps: dict[str, float]) -> FeatureProfile:
    """Lower profile values to a memory mode's caps (never raise them)."""
    changes = {}
    for key, cap in caps.items():
        value = getattr(profile, key)
        if value is not None and value > cap:
            changes[key] = type(value)(cap)
    return dataclasses.replace(profile, **changes)


@dataclass(frozen=True)
class ModelSettings:
    """Everything an extraction job needs to know about one model, fully resolved."""

    model: str
    memory_mode: str
    batch_size: int
    profile: FeatureProfile
    storage_format: str = "pickle"
    # format shards: a shard is closed at this many samples or megabytes, whichever first.
    shard_samples: int | None = None
    shard_mb: float | None = None

    def job_memory_mb(self, max_input_seconds: float = 60.0) -> int:
        """A generous memory request for one extraction job of this model alone (MB)."""
        return job_memory_mb([self], max_input_seconds)

    def batch_bytes(self) -> int:
        return self.batch_size * math.prod(self.profile.output_shape) * 4

    def as_dict(self) -> dict[str, Any]:
        values = {
            "model": self.model,
            "memory_mode": self.memory_mode,
            "batch_size": self.batch_size,
            "profile": self.profile.as_dict(),
            "storage_format": self.storage_format,
        }
        # Only where they mean something: other formats' settings stay as they were.
        if self.shard_samples is not None:
            values["shard_samples"] = self.shard_samples
            values["shard_mb"] = self.shard_mb
        return values

    def arrays_key(self) -> str:
        """What decides the arrays a model's jobs write: models with the same key write the
        same bytes, so they are computed and stored once (see extract.py)."""
        values = self.as_dict()
        del values["model"]
        return json.dumps(values, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSettings:
        return cls(
            model=values["model"],
            memory_mode=values["memory_mode"],
            batch_size=int(values["batch_size"]),
            profile=FeatureProfile(**values["profile"]),
            storage_format=values.get("storage_format", "pickle"),
            shard_samples=values.get("shard_samples"),
            shard_mb=values.get("shard_mb"),
        )


def twins(models: Sequence[ModelSettings]) -> dict[int, int]:
    """Models whose arrays another model of the job already makes (the same profile, batch
    size and format under another name, as ``resnet`` and ``mobilenet`` by default): index
    -> the index of the first such model. Computed and stored once, hard-linked after
    (fraudprep.extraction.extract); counted once by the disk check."""
    first: dict[str, int] = {}
    twin_of = {}
    for index, settings in enumerate(models):
        original = first.setdefault(settings.arrays_key(), index)
        if original != index:
            twin_of[index] = original
    return twin_of


def write_settings(path: str | Path, settings: ModelSettings) -> None:
    """Write a model's resolved settings where its jobs and readers find them.

    Settings are resolved once, where the workflow is started, and written down: a cluster
    job then uses exactly these (``memory_mode: auto`` would otherwise be resolved again on
    each node, from that node's free memory).
    """
    with atomic_write(path, "w", encoding="utf-8") as handle:
        json.dump(settings.as_dict(), handle, indent=1, sort_keys=True)
    log.info("Settings for %s: %s", settings.model, settings.as_dict())


def read_settings(path: str | Path) -> ModelSettings:
    return ModelSettings.from_dict(read_settings_dict(path))


def read_settings_dict(path: str | Path) -> dict[str, Any]:
    """The settings file as written, for comparing with what outputs record."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def resolve_model_settings(
    config: dict[str, Any], model: str, available_bytes: int | None = None
) -> ModelSettings:
    """Resolve a model's profile and batch size from the workflow config, validated by the
    schema (which supplies every default: none is repeated here)."""
    profiles = config["feature_profiles"]
    if model not in profiles:
        raise ConfigError(
            f"models lists {model!r}, but feature_profiles has no such entry; "
            f"known: {sorted(profiles)}"
        )
    profile = profile_from_mapping(model, profiles[model])
    profile = _with_config_dtype(profile, config.get("dtype", "profile"))
    mode, mode_batch_size = resolve_memory_mode(config["memory_mode"], available_bytes)
    profile = apply_caps(profile, MEMORY_MODES[mode].profile_caps)
    check_profile(model, profile)
    max_input_seconds = config["max_input_seconds"]
    if max_input_seconds < profile.duration:
        # Every clip longer than the limit would end in padding that is not in the file.
        raise ConfigError(
            f"max_input_seconds {max_input_seconds:g} is shorter than {model}'s clip duration "
            f"{profile.duration:g} s: every longer file would be cut there and padded with "
            f"silence; set max_input_seconds to at least {profile.duration:g}"
        )
    batch_size = config["batch_size"]
    if batch_size == "auto":
        # A profile's own batch size is an upper bound the memory mode may lower further.
        batch_size = min(profile.batch_size or mode_batch_size, mode_batch_size)
    if int(batch_size) < 1:
        raise ConfigError(f"batch_size must be a positive integer or 'auto', not {batch_size!r}")
    storage = config["format"]
    from fraudprep.base.formats import FORMATS  # here: it imports numpy, which settings need not

    if storage not in FORMATS:
        raise ConfigError(f"format must be one of {list(FORMATS)}, not {storage!r}")
    shards = storage == "shards"
    return ModelSettings(
        model, mode, int(batch_size), profile, storage,
        shard_samples=int(config["shard_samples"]) if shards else None,
        shard_mb=float(config["shard_mb"]) if shards else None,
    )  # fmt: skip


def _with_config_dtype(profile: FeatureProfile, dtype: str) -> FeatureProfile:
    """The config's top-level ``dtype`` over the profile's own: ``profile`` keeps each
    profile's; ``uint8`` stores mel images as uint8 and the other kinds (not in [0, 1]) as
    float16, the most compact each allows."""
    if dtype == "profile":
        return profile
    if dtype == "uint8":
        dtype = COMPACT_DTYPES[profile.kind]
    return dataclasses.replace(profile, dtype=dtype)


def job_memory_mb(
    models: Iterable[ModelSettings], max_input_seconds: float = 60.0, augmented: bool = False
) -> int:
    """A generous memory request for one extraction job of ``models`` (MB), before retries.

    Interpreter and libraries take about 100 MB; on top come one decoded file (worst case
    48 kHz stereo, float32, plus its mono mix and resampled copy), the largest model's STFT
    work arrays and every model's batch buffer (two with augmented copies: theirs fill
    beside the clean ones), and an augmented copy of the decoded file. Doubled for headroom,
    since a job killed for memory costs a retry.
    """
    models = list(models)
    decoded = max_input_seconds * 48_000 * 4 * 4
    stft = max(m.profile.num_frames * m.profile.n_fft * 4 * 4 for m in models)
    batches = sum(m.batch_bytes() for m in models) * (2 if augmented else 1)
    copy = decoded if augmented else 0
    return int(100 + 2 * (decoded + copy + stft + batches) / 2**20)
