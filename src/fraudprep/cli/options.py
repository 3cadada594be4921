"""Options more than one sub-command takes, spelled as ``snakemake`` spells them."""

from __future__ import annotations

import argparse
import os

from fraudprep.cli.errors import CliError


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--configfile",
        "--configfiles",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="config files overlaid on config.yaml, in order (as snakemake --configfile)",
    )
    parser.add_argument(
        "--config",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="config values over the files, VALUE read as YAML (as snakemake --config)",
    )


def machine_cores() -> int:
    """The cores this process may use (a job scheduler's CPU set, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_cores(option: str, value: int | None) -> None:
    """Refuse cores or jobs below 1: Snakemake then waits for ever, saying nothing, and a
    plan's estimate on them is meaningless."""
    if value is not None and value < 1:
        raise CliError(f"{option} {value}: give 1 or more (or leave it out: this machine's cores)")
