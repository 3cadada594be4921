"""``fraudprep run [SNAKEMAKE OPTIONS...]``: the workflow, as ``make demo`` runs it.

``snakemake`` of this Python's environment, in the checkout (the working directory, which
holds the Snakefile; Snakemake then uses the checkout's ``profiles/default`` by itself),
with ``--cores`` set to this machine's cores unless given. Every other option is Snakemake's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from fraudprep.cli.errors import CliError
from fraudprep.cli.options import machine_cores
from fraudprep.cli.workflow_config import find_checkout

# Options by which the user already says how many jobs may run at once.
CORES_OPTIONS = ("--cores", "-c", "--jobs", "-j")
HELP = "run the workflow: snakemake with these options (--cores: this machine's by default)"


def snakemake_executable() -> Path:
    """The ``snakemake`` installed beside the running Python (its venv), not another one."""
    executable = Path(sys.executable).parent / "snakemake"
    if not executable.is_file():
        raise CliError(
            f"no snakemake beside {sys.executable}; install the workflow's packages into this "
            "environment (make setup, or pip install -e '.[workflow]')"
        )
    return executable


def gives_cores(options: Sequence[str]) -> bool:
    """True when ``options`` set the cores or jobs (``--cores 4``, ``-c4``, ``--jobs=8``)."""
    for option in options:
        if option == "--":
            return False
        # --cores 4, --jobs=8, and the short forms joined to their value (-c4)
        if option.split("=", 1)[0] in CORES_OPTIONS or option[:2] in ("-c", "-j"):
            return True
    return False


def snakemake_command(options: Sequence[str], cores: int | None = None) -> list[str]:
    """The command line ``fraudprep run`` starts for ``options``."""
    command = [str(snakemake_executable())]
    if not gives_cores(options):
        command += ["--cores", str(cores or machine_cores())]
    return [*command, *options]


def main(options: Sequence[str]) -> int:
    """Replace this process with snakemake: Ctrl-C, signals and the exit status are then
    Snakemake's own, as when it is run by hand."""
    find_checkout()
    command = snakemake_command(options)
    sys.stdout.flush()
    os.execv(command[0], command)
    return 0  # not reached: execv does not return
