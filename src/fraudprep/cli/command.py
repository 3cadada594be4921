"""The ``fraudprep`` command line: one sub-command a module, errors as one line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from fraudprep.cli import evaluate, info, plan, run
from fraudprep.cli.errors import FAILED, INTERRUPTED, CliError, OneLineParser, report
from fraudprep.cli.options import check_cores
from fraudprep.extraction.augment import AugmentationConfigError
from fraudprep.inputs.manifest import ManifestError
from fraudprep.run.settings import ConfigError

# Sub-commands whose arguments belong to another program (Snakemake, the evaluation): passed
# on untouched, so that their options need no copy here and their --help is theirs.
PASS_THROUGH: dict[str, Callable[[Sequence[str]], int]] = {
    "run": run.main,
    "evaluate": evaluate.main,
}
# What the user's config or files can make fail: said in one line, without a traceback.
USER_ERRORS = (CliError, ConfigError, ManifestError, AugmentationConfigError, OSError)


def parser() -> OneLineParser:
    top = OneLineParser(
        prog="fraudprep",
        description="Labelled real/fake speech -> feature batches for deepfake detectors.",
    )
    commands = top.add_subparsers(title="commands", metavar="COMMAND", required=True)
    plan.add_parser(commands)
    commands.add_parser("run", help=run.HELP, add_help=False)
    info.add_parser(commands)
    commands.add_parser("evaluate", help=evaluate.HELP, add_help=False)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in PASS_THROUGH:
            return PASS_THROUGH[arguments[0]](arguments[1:])
        args = parser().parse_args(arguments)
        check_cores("--cores", getattr(args, "cores", None))  # plan's
        return args.handler(args)
    except USER_ERRORS as error:
        report(error)
        return FAILED
    except KeyboardInterrupt:
        return INTERRUPTED
