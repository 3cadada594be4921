"""ASVspoof-style protocol files (2019, 2021 and 5): ``SPEAKER FILE ... ATTACK KEY ...`` a line.

The key is the field reading ``bonafide`` or ``spoof``; the attack/system id is the field just
before it (``-`` for bona fide speech). Where the key stands differs between editions and
tracks, so it is searched for from the third field on. A spoof line whose system is ``-`` (as
all of PartialSpoof's are) gets attack ``unknown``: ``-`` is the bona fide marker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from fraudprep.inputs.datasets.common import Problems, file_size, listed_lines
from fraudprep.inputs.datasets.scan import BONA_FIDE_ATTACK, UNKNOWN_ATTACK
from fraudprep.inputs.manifest import FAKE, LABEL_ALIASES, ManifestRow

# The keys as protocols spell them, with their labels from the one vocabulary. Only these mark
# the key field: the wider vocabulary (0/1, real/fake) could match some other field.
PROTOCOL_KEYS = {key: LABEL_ALIASES[key] for key in ("bonafide", "bona-fide", "spoof")}


def parse_protocol(
    protocol: Path,
    split: str,
    audio_dirs: list[Path],
    source: str,
    problems: Problems,
    extension: str = ".flac",
) -> Iterator[ManifestRow]:
    """Rows from one protocol file, whose audio files are in one of ``audio_dirs``."""
    for where, fields, line in listed_lines(protocol):
        key_index = next(
            (i for i, f in enumerate(fields[2:], 2) if f.lower() in PROTOCOL_KEYS), None
        )
        if len(fields) < 3 or key_index is None:
            problems.add(f"{where}: cannot parse {line!r} (no bonafide/spoof key)")
            continue
        name = fields[1] if fields[1].lower().endswith(extension) else fields[1] + extension
        path = next((d / name for d in audio_dirs if (d / name).exists()), audio_dirs[0] / name)
        if not os.path.lexists(path):
            problems.add(f"{where}: audio file {str(path)!r} does not exist")
            continue
        label = PROTOCOL_KEYS[fields[key_index].lower()]
        attack = fields[key_index - 1]
        if label == FAKE and attack == BONA_FIDE_ATTACK:
            attack = UNKNOWN_ATTACK
        yield ManifestRow(str(path), split, label, file_size(str(path)), fields[0], attack, source)
