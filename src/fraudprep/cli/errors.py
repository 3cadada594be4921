"""How the ``fraudprep`` command fails: one line, ``fraudprep: <what is wrong>; <what to do>``,
and a non-zero exit status. A stack of frames helps no one who mistyped a path."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

# Exit statuses: 1 for what the user's input or files make impossible, 2 for a command line
# that does not parse (argparse's own convention).
FAILED = 1
INTERRUPTED = 130  # the shell\'s status for a command ended by Ctrl-C
USAGE = 2


class CliError(Exception):
    """A problem the user can fix; the message names it and says what to do."""


def one_line(error: BaseException | str) -> str:
    """``error``'s message as one ``fraudprep:`` line.

    Some library messages list several problems on lines of their own (a listing's bad rows);
    on the console they are joined with "; " so that the error stays one line.
    """
    parts = [part.strip() for part in str(error).splitlines() if part.strip()]
    text = "; ".join(parts) or type(error).__name__
    return text if text.startswith("fraudprep: ") else f"fraudprep: {text}"


def report(error: BaseException | str) -> None:
    print(one_line(error), file=sys.stderr)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``fraudprep:`` line too (argparse's own
    print the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("fraudprep").strip()  # "plan" in "fraudprep plan"
        where = f"{command}: " if command else ""
        report(f"{where}{message}; see {self.prog} --help")
        raise SystemExit(USAGE)
