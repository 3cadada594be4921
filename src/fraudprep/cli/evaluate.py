"""``fraudprep evaluate SCORES [--output-dir DIR] ...``: scores of a detector against the
manifest (EER, min DCF, per split and attack), :mod:`fraudprep.report.evaluate` with the same
arguments."""

from __future__ import annotations

from collections.abc import Sequence

HELP = "EER and min DCF of a score file (python -m fraudprep.report.evaluate)"


def main(arguments: Sequence[str]) -> int:
    # Imported here: the report modules load matplotlib, which the other commands need not.
    from fraudprep.report import evaluate

    return evaluate.main(list(arguments), prog="fraudprep evaluate")
