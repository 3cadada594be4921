"""``fraudprep run [--full-output] [SNAKEMAKE OPTIONS...]``: the workflow, as ``make demo``
runs it.

``snakemake`` of this Python's environment, in the checkout (the working directory, which
holds the Snakefile; Snakemake then uses the checkout's ``profiles/default`` by itself),
with ``--cores`` set to this machine's cores unless given. Every other option is Snakemake's.

The console is quiet (fraudprep.cli.console): a start line, the extraction's progress, warnings,
errors and the run's summary; Snakemake's whole output goes to a file under
``.snakemake/log/``. ``--full-output`` prints all of it instead, as plain ``snakemake`` does;
so do runs that only inform (``-n``, ``--lint``, ``--summary``, ``--help``...) and runs given
Snakemake's own ``--quiet`` or ``--verbose``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from fraudprep.cli.console import run_quietly
from fraudprep.cli.errors import CliError
from fraudprep.cli.options import machine_cores
from fraudprep.cli.workflow_config import find_checkout

# Options by which the user already says how many jobs may run at once.
CORES_OPTIONS = ("--cores", "-c", "--jobs", "-j")
HELP = (
    "run the workflow: snakemake with these options (--cores: this machine's by default); "
    "a quiet console, --full-output for all of Snakemake's"
)
FULL_OUTPUT = "--full-output"
# Options after which Snakemake's own output is the point: these runs print all of it.
INFORMING = {
    "-n", "--dry-run", "--dryrun", "--lint", "--summary", "-S", "--detailed-summary", "-D",
    "--list", "-l", "--list-rules", "--list-target-rules", "--lt", "--list-changes", "--lc",
    "--dag", "--rulegraph", "--filegraph", "--d3dag", "--help", "-h", "--version", "-v",
    "--report", "--unlock", "--cleanup-metadata", "--cm", "--delete-all-output",
    "--delete-temp-output", "--touch", "-t", "--print-compilation", "--debug-dag", "--verbose",
    "--quiet", "-q", "--archive", "--containerize", "--export-cwl", "--generate-unit-tests",
    "--conda-create-envs-only", "--edit-notebook", "--list-code-changes", "--list-input-changes",
    "--list-params-changes", "--list-untracked", "--lu", "--show-failed-logs-only",
}  # fmt: skip
# Snakemake's short flags that take no value, as they may be joined (-np).
SHORT_FLAGS = set("nlSDhvtqprkFT")
INFO = set("nlSDhvtq")  # those of them that inform


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


def informing(options: Sequence[str]) -> bool:
    """True when ``options`` ask Snakemake for information rather than a run (``-n``,
    ``--lint``...), or for its own console (``--quiet``, ``--verbose``)."""
    for option in options:
        if option == "--":
            return False
        name = option.split("=", 1)[0]
        if name in INFORMING:
            return True
        # joined short flags: -np, -pn
        letters = set(option[1:])
        if re.fullmatch(r"-[A-Za-z]{2,}", option) and letters <= SHORT_FLAGS and letters & INFO:
            return True
    return False


def working_directory(options: Sequence[str]) -> Path:
    """Snakemake's working directory: ``--directory``/``-d`` if given, else this one."""
    for index, option in enumerate(options):
        if option == "--":
            break
        if option in ("--directory", "-d") and index + 1 < len(options):
            return Path(options[index + 1])
        if option.startswith("--directory="):
            return Path(option.split("=", 1)[1])
    return Path.cwd()


def main(options: Sequence[str]) -> int:
    """Snakemake with the quiet console (fraudprep.cli.console); with ``--full-output``, or
    for a run that only informs, this process is replaced by snakemake: Ctrl-C, signals and
    the exit status are then Snakemake's own, as when it is run by hand."""
    find_checkout()
    options = list(options)
    ours = options[: options.index("--")] if "--" in options else options
    full = FULL_OUTPUT in ours
    if full:
        options.remove(FULL_OUTPUT)  # the first, which is before any "--"
    command = snakemake_command(options)
    if not full and not informing(options):
        return run_quietly(command, working_directory(options))
    sys.stdout.flush()
    os.execv(command[0], command)
    return 0  # not reached: execv does not return
