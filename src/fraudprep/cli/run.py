"""``fraudprep run [--full-output] [SNAKEMAKE OPTIONS...]``: the workflow, as ``make demo``
runs it.

``snakemake`` of this Python's environment, with the checkout's Snakefile: ``--snakefile``/
``-s`` if given, else the working directory's (as Snakemake looks for it), else the one in
``--directory``/``-d`` (Snakemake then uses the checkout's ``profiles/default`` by itself),
with ``--cores`` set to this machine's cores unless given. Every other option is Snakemake's.
Before Snakemake starts, the config is read and checked as ``fraudprep plan`` does, and
``--cores``/``--jobs`` below 1 are refused: each problem one ``fraudprep:`` line.

The console is quiet (fraudprep.cli.console): a start line, the extraction's progress, warnings,
errors and the run's summary; Snakemake's whole output goes to a file under
``.snakemake/log/``. ``--full-output`` prints all of it instead, as plain ``snakemake`` does;
so do runs that only inform (``-n``, ``--lint``, ``--summary``...) and runs given Snakemake's
own ``--quiet`` or ``--verbose``. ``--help`` is this command's; ``--full-output --help``
Snakemake's.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from fraudprep.cli.errors import CliError
from fraudprep.cli.options import check_cores, machine_cores
from fraudprep.cli.quiet_run import run_quietly
from fraudprep.cli.workflow_config import SNAKEFILE, find_checkout, load_workflow_config

# Options by which the user already says how many jobs may run at once.
CORES_OPTIONS = ("--cores", "-c", "--jobs", "-j")
HELP = (
    "run the workflow: snakemake with these options (--cores: this machine's by default); "
    "a quiet console, --full-output for all of Snakemake's"
)
FULL_OUTPUT = "--full-output"
USAGE = """\
usage: fraudprep run [--full-output] [SNAKEMAKE OPTIONS...]

Run the workflow: this environment's snakemake, in the checkout, with these options
(--cores: this machine's unless given). The config (config.yaml, --configfile, --config) is
checked first, as fraudprep plan checks it.

The console is quiet: a start line, the extraction's progress, warnings, errors (a failed
job's rule, its log and the log's last lines) and the run's summary; Snakemake's whole output
goes to a file under .snakemake/log/.

options:
  --full-output         print all of Snakemake's output instead, as plain snakemake does
  -h, --help            show this help
  fraudprep run --full-output --help    Snakemake's own options (all of them apply here)
"""
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
# Options that ask about Snakemake itself: no config is read, none is checked.
ABOUT_SNAKEMAKE = {"--help", "-h", "--version", "-v"}
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


def option_values(options: Sequence[str], *names: str, many: bool = False) -> list[str] | None:
    """The values given to the option ``names`` (``--name VALUE``, ``--name=VALUE``, ``-xVALUE``
    for a short name); with ``many``, each option's values up to the next option (nargs="+",
    as Snakemake's --config and --configfile). None when the option is not given."""
    found: list[str] | None = None
    index = 0
    while index < len(options):
        option = options[index]
        index += 1
        if option == "--":
            break
        name, equals, value = option.partition("=")
        short = [n for n in names if len(n) == 2 and option.startswith(n) and len(option) > 2]
        if name in names and equals:
            found = [*(found or []), value]
        elif short and not option.startswith("--"):
            found = [*(found or []), option[2:]]
        elif option in names:
            found = found or []
            while index < len(options) and _is_value(options[index]):
                found.append(options[index])
                index += 1
                if not many:
                    break
    return found


def _is_value(option: str) -> bool:
    """Not an option: a value, or a negative number (``--cores -1``, as argparse reads it)."""
    return not option.startswith("-") or re.fullmatch(r"-\d+", option) is not None


def working_directory(options: Sequence[str]) -> Path:
    """Snakemake's working directory: ``--directory``/``-d`` if given, else this one."""
    given = option_values(options, "--directory", "-d")
    return Path(given[-1]) if given else Path.cwd()


def checked_cores(options: Sequence[str]) -> None:
    """Refuse ``--cores``/``--jobs`` below 1; ``all`` and a bare ``--cores`` (this machine's)
    are Snakemake's to read."""
    for names in (("--cores", "-c"), ("--jobs", "-j")):
        for value in option_values(options, *names) or []:
            with contextlib.suppress(ValueError):
                check_cores(names[0], int(value))


def find_snakefile(options: Sequence[str]) -> tuple[Path, list[str]]:
    """The checkout Snakemake would run (the Snakefile's folder) and the options to start it
    with: ``--snakefile``/``-s`` if given; else the Snakefile here, as Snakemake looks for it;
    else the one in ``--directory``/``-d``, then named to Snakemake with ``--snakefile``."""
    given = option_values(options, "--snakefile", "-s")
    if given:
        snakefile = Path(given[-1])
        if not snakefile.is_file():
            raise CliError(f"--snakefile {snakefile}: no such file; give the checkout's Snakefile")
        return snakefile.absolute().parent, list(options)
    here = Path.cwd()
    directory = option_values(options, "--directory", "-d")
    if (here / SNAKEFILE).is_file() or not directory:
        return find_checkout(here), list(options)
    workdir = Path(directory[-1])
    if not (workdir / SNAKEFILE).is_file():
        raise CliError(
            f"no {SNAKEFILE} in {here} nor in --directory {workdir}; run fraudprep in the "
            f"fraudprep checkout, or give its Snakefile with --snakefile"
        )
    return workdir.absolute(), ["--snakefile", str(workdir.absolute() / SNAKEFILE), *options]


def check_config(checkout: Path, options: Sequence[str]) -> None:
    """The config the run would read, checked as ``fraudprep plan`` checks it: a missing or
    broken config file, a ``--config`` entry without ``=`` or a bad value is one line here,
    before Snakemake starts (which would print a traceback for each)."""
    load_workflow_config(
        checkout,
        option_values(options, "--configfile", "--configfiles", many=True) or [],
        option_values(options, "--config", "-C", many=True) or [],
        workdir=working_directory(options),
    )


def asks_for_help(options: Sequence[str]) -> bool:
    return any(option in ("--help", "-h") for option in _ours(options))


def _ours(options: Sequence[str]) -> list[str]:
    return list(options[: options.index("--")] if "--" in options else options)


def main(options: Sequence[str]) -> int:
    """Snakemake with the quiet console (fraudprep.cli.console); with ``--full-output``, or
    for a run that only informs, this process is replaced by snakemake: Ctrl-C, signals and
    the exit status are then Snakemake's own, as when it is run by hand."""
    options = list(options)
    full = FULL_OUTPUT in _ours(options)
    if full:
        options.remove(FULL_OUTPUT)  # the first, which is before any "--"
    elif asks_for_help(options):
        print(USAGE, end="")
        return 0
    checkout, options = find_snakefile(options)
    if not any(option in ABOUT_SNAKEMAKE for option in _ours(options)):
        checked_cores(options)
        check_config(checkout, options)
    command = snakemake_command(options)
    if not full and not informing(options):
        return run_quietly(command, working_directory(options))
    sys.stdout.flush()
    os.execv(command[0], command)
    return 0  # not reached: execv does not return
