"""Options more than one sub-command takes, spelled as ``snakemake`` spells them."""

from __future__ import annotations

import argparse
import os


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
