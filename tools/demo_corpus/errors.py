"""The one error the builder raises, and what to do about it."""

from __future__ import annotations

INSTALL_HINT = "run tools/install-system-deps.sh"


class DemoCorpusError(RuntimeError):
    """A needed tool or source file is missing, or the output directory is unusable."""
