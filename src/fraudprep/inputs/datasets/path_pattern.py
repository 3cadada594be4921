"""Dataset ``pattern``: split, label, attack and speaker read from each file's path.

Many corpora are released as plain folders, each with its own order of folders. The
``path_pattern`` option describes it, relative to ``input_dir``, e.g.
``{split}/{label}/{attack}/*.wav`` or ``{label}/{speaker}/{split}/**``:

- ``{split}``, ``{label}``, ``{attack}``, ``{speaker}`` each match one folder name or part of a
  name (``{speaker}_*.wav``), in any order, each at most once; ``{label}`` is required;
- ``*`` matches within one name, ``?`` one character, ``**`` (a whole segment) any number of
  folders; literal text matches in any case.

Splits and labels are written as the other readers take them (``train``/``dev``/``eval``...,
``real``/``bonafide``/``fake``/``spoof``..., any case, plus ``label_map``). Without
``{split}``, speakers are split by ``speaker_split`` (so ``{speaker}`` is then required), no
speaker in two splits. Bona fide rows get attack ``-``. Files the pattern matches but that
have no audio extension go to ``skipped.csv``; audio files it does not match are logged, a few
by name. The default pattern is ``{split}/{label}/**`` (a Fake-or-Real-like tree).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fraudprep.inputs.datasets.common import Problems, file_size, input_root
from fraudprep.inputs.datasets.folder import NOT_AUDIO_EXTENSION, is_audio_name
from fraudprep.inputs.datasets.scan import (
    BONA_FIDE_ATTACK,
    group_splits,
    option,
    scan_reader,
    walk_files,
)
from fraudprep.inputs.manifest import (
    SPLITS,
    ManifestError,
    ManifestRow,
    SkippedFile,
    parse_label,
    parse_split,
)

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig

log = logging.getLogger(__name__)

DEFAULT_PATTERN = "{split}/{label}/**"
FIELDS = ("split", "label", "attack", "speaker")
_TOKEN = re.compile(r"\{([^{}]*)\}|\*|\?|[^{}*?]+|[{}]")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression a relative path (``/``-separated) must match whole."""
    pattern = pattern.strip().strip("/")
    if not pattern:
        raise ManifestError("path_pattern is empty; e.g. {split}/{label}/{attack}/*.wav")
    seen: list[str] = []
    parts: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append("(?:[^/]+/)*[^/]+" if last else "(?:[^/]+/)*")
            continue
        if not segment:
            raise ManifestError(f"path_pattern {pattern!r} has an empty folder name ('//')")
        regex = ""
        for token in _TOKEN.finditer(segment):
            text = token.group(0)
            if token.group(1) is not None:
                name = token.group(1)
                if name not in FIELDS:
                    raise ManifestError(
                        f"path_pattern {pattern!r}: unknown field {{{name}}}; the fields are "
                        + ", ".join(f"{{{f}}}" for f in FIELDS)
                    )
                if name in seen:
                    raise ManifestError(f"path_pattern {pattern!r}: {{{name}}} appears twice")
                seen.append(name)
                regex += f"(?P<{name}>[^/]+?)"
            elif text == "*":
                regex += "[^/]*"
            elif text == "?":
                regex += "[^/]"
            elif text in "{}":
                raise ManifestError(f"path_pattern {pattern!r}: unmatched {text!r}")
            else:
                regex += re.escape(text)
        parts.append(regex if last else regex + "/")
    if "label" not in seen:
        raise ManifestError(
            f"path_pattern {pattern!r} has no {{label}}: name the folder (or part of the name) "
            "that says real or fake, e.g. {split}/{label}/*.wav"
        )
    if "split" not in seen and "speaker" not in seen:
        raise ManifestError(
            f"path_pattern {pattern!r} has neither {{split}} nor {{speaker}}: without splits in "
            "the layout, speakers are split by speaker_split, so the pattern must name them"
        )
    return re.compile("".join(parts), re.IGNORECASE)


def _matches(
    root: Path, regex: re.Pattern[str]
) -> Iterator[tuple[Path, dict[str, str] | None, bool]]:
    """(path, fields or None when the pattern does not match, is audio) for every file."""
    for path in walk_files(root):
        match = regex.fullmatch(path.relative_to(root).as_posix())
        yield path, (match.groupdict() if match else None), is_audio_name(path.name)


def _scan(
    cfg: DatasetConfig,
    problems: Problems,
    on_skipped: Callable[[SkippedFile], None] | None,
) -> Iterator[ManifestRow]:
    root = input_root(cfg)
    pattern = option(cfg, "path_pattern", DEFAULT_PATTERN)
    regex = compile_pattern(pattern)
    splits: dict[str, str] = {}
    if "split" not in regex.groupindex:  # a first pass counts each speaker's files
        counts = Counter(
            fields["speaker"] for _, fields, audio in _matches(root, regex) if fields and audio
        )
        splits = group_splits(counts, cfg)
    unmatched: list[str] = []
    unmatched_count = 0
    for path, fields, audio in _matches(root, regex):
        if fields is None:
            if audio:
                unmatched_count += 1
                unmatched = sorted([*unmatched, str(path)])[:3]
            continue
        speaker = (fields.get("speaker") or "").strip()
        raw_split = fields.get("split")
        split = parse_split(raw_split) if raw_split is not None else splits.get(speaker)
        label = parse_label(fields["label"], cfg.label_map)
        if split is None:
            problems.add(
                f"{path}: unknown split {raw_split!r} from {{split}} in {pattern!r} (use "
                f"{'/'.join(SPLITS)} or train/dev/eval...); rename the folder or fix path_pattern"
            )
            continue
        if label is None:
            problems.add(
                f"{path}: unknown label {fields['label']!r} from {{label}} in {pattern!r}; use "
                "real/bonafide or fake/spoof, or add it to label_map (e.g. {human: real})"
            )
            continue
        if not audio:
            if on_skipped is not None:
                on_skipped(SkippedFile(str(path), split, label, NOT_AUDIO_EXTENSION))
            continue
        attack = BONA_FIDE_ATTACK if label == 0 else (fields.get("attack") or "").strip()
        yield ManifestRow(str(path), split, label, file_size(str(path)), speaker, attack, "pattern")
    if unmatched_count:
        log.warning(
            "%d audio file(s) under %s do not match path_pattern %r and are not read, e.g. %s",
            unmatched_count,
            root,
            pattern,
            unmatched,
        )


read = scan_reader(_scan, "files laid out as path_pattern says (default {split}/{label}/**)")
