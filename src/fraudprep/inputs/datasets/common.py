"""What the dataset readers share: opening users' listings, collecting the problems found in
them, resolving the paths they name, and the checks every listing of files gets."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from fraudprep.base.extsort import ExternalSort
from fraudprep.inputs.manifest import ManifestError, ManifestRow, SkippedFile

if TYPE_CHECKING:
    from fraudprep.inputs.datasets import DatasetConfig, Reader

MAX_LISTED_PROBLEMS = 10


@contextlib.contextmanager
def open_listing(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A user's listing (CSV, TSV, protocol, meta.csv) as text: UTF-8, with or without the
    byte-order mark spreadsheet programs write; any other encoding is one clear error."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            yield handle
        except UnicodeDecodeError as error:
            byte = error.object[error.start : error.start + 1].hex()
            raise ManifestError(
                f"{path}: not UTF-8 text (byte 0x{byte} cannot be UTF-8); save it as UTF-8, "
                f"e.g. iconv -f latin1 -t utf-8 {path} > fixed.csv"
            ) from error


def listed_lines(path: str | os.PathLike[str]) -> Iterator[tuple[str, list[str], str]]:
    """Each non-empty line of a whitespace-separated listing (a protocol, a label file):
    ``("<file>:<line number>", fields, the line as written)``, for messages that say where."""
    with open_listing(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if fields:
                yield f"{path}:{line_number}", fields, line.strip()


class Problems:
    """Collects every problem in an input (with file and line) to report them all at once.

    Only the first ``MAX_LISTED_PROBLEMS`` (by ``at``, e.g. the line number, then by arrival)
    are kept, and the rest counted: a million bad lines must not become a million strings.
    ``at`` lets problems found later (duplicates, after a sort) still be listed in line order.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0
        self._kept: list[tuple[int, int, str]] = []  # max-heap of (-at, -arrival, message)

    def add(self, message: str, at: int | None = None) -> None:
        self.count += 1
        order = self.count if at is None else at
        entry = (-order, -self.count, message)
        if len(self._kept) < MAX_LISTED_PROBLEMS:
            heapq.heappush(self._kept, entry)
        elif entry > self._kept[0]:  # comes before the last one kept
            heapq.heapreplace(self._kept, entry)

    @property
    def items(self) -> list[str]:
        """The problems kept, in order."""
        return [message for _, _, message in sorted(self._kept, reverse=True)]

    def raise_if_any(self) -> None:
        if not self.count:
            return
        shown = self.items
        more = self.count - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        # No ":" closes the first line: on the console the lines are joined with "; ".
        raise ManifestError(
            f"{self.source}: {self.count} problem(s)\n  " + "\n  ".join(shown) + tail
        )


def resolve_path(raw_path: str, base: Path) -> str:
    """Relative paths are relative to the file that lists them, so listings travel with data."""
    return raw_path if os.path.isabs(raw_path) else os.path.normpath(os.path.join(base, raw_path))


def file_size(path: str) -> int:
    """Size in bytes, or -1 for an entry that is no regular file (left for extraction to report)."""
    try:
        return os.stat(path).st_size if os.path.isfile(path) else -1
    except OSError:
        return -1


def input_root(cfg: DatasetConfig) -> Path:
    """The corpus's top directory (``input_dir``), which must exist."""
    root = Path(cfg.input_dir)
    if not root.is_dir():
        raise ManifestError(
            f"input_dir {cfg.input_dir!r} does not exist or is not a directory; for dataset "
            f"{cfg.dataset!r} point it at the corpus's top directory (see docs/datasets.md)"
        )
    return root


def listing_reader(
    read_listed: Callable[[DatasetConfig, Problems], Iterator[ManifestRow]],
) -> Reader:
    """The reader of a corpus that lists its files in protocol or metadata files.

    ``read_listed`` yields the rows it finds and adds what is wrong to the problems; the
    reader passes the rows through as they come, and after the last one raises
    :class:`ManifestError` for those problems, for an empty listing or for a file listed
    twice. Repeats are found by an external sort (temporary files in ``spill_dir``), so
    memory does not grow with the listing. Listings name their files: none is skipped.
    """

    def read(
        cfg: DatasetConfig,
        spill_dir: str | os.PathLike[str] | None = None,
        on_skipped: Callable[[SkippedFile], None] | None = None,
    ) -> Iterator[ManifestRow]:
        problems = Problems(f"dataset {cfg.dataset} in {cfg.input_dir}")
        with ExternalSort[str](spill_dir=spill_dir) as paths:
            for row in read_listed(cfg, problems):
                paths.add(row.path)
                yield row
            problems.raise_if_any()
            if not paths.count:
                raise ManifestError(f"dataset {cfg.dataset} in {cfg.input_dir}: no files listed")
            repeated = [path for path, group in itertools.groupby(paths) if len(list(group)) > 1]
        if repeated:
            raise ManifestError(f"{len(repeated)} file(s) listed twice, e.g. {repeated[:3]}")

    return read
