"""The ``fraudprep`` command: ``plan``, ``run``, ``info`` and ``evaluate``.

Installed with the package (``[project.scripts]``), and runnable as ``python -m fraudprep.cli``.
Every error is one line, ``fraudprep: <what is wrong>; <what to do>``, with a non-zero exit
status.
"""

from fraudprep.cli.command import main

__all__ = ["main"]
