"""The workflow's configuration, read the way ``snakemake`` reads it in this checkout.

The Snakefile loads ``config.yaml`` from the working directory (``configfile:``); Snakemake
overlays the ``--configfile`` files and then ``--config KEY=VALUE`` (values parsed as YAML);
the Snakefile gives block values the schema's types, adopts renamed keys and validates with
the schema, which fills in every default; ``rules/common.smk`` then resolves the models'
settings, the dataset and the augmentation. The same functions do the same here, so that a
plan describes the run that the same options would start.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudprep.base.config_check import ConfigValueError, check_config
from fraudprep.base.config_types import adopt_renamed_keys, coerce_config
from fraudprep.base.layout import OutputPaths
from fraudprep.cli.errors import CliError
from fraudprep.extraction.augment import AugmentationPlan
from fraudprep.inputs.corpora import SourceConfig, source_config
from fraudprep.run.settings import (
    ModelSettings,
    checked_output_dir,
    resolve_model_settings,
)

SNAKEFILE = "Snakefile"
CONFIG_FILE = "config.yaml"  # the Snakefile's configfile, relative to the working directory
SCHEMA = Path("schemas") / "config.schema.yaml"  # relative to the checkout, as in the Snakefile
SCRIPTS = Path("workflow") / "scripts"
RUN_FROM_CHECKOUT = (
    "run fraudprep in the fraudprep checkout (the folder with Snakefile and config.yaml)"
)


def find_checkout(directory: Path | None = None) -> Path:
    """The workflow checkout: the working directory, which must hold the Snakefile (as for
    ``snakemake`` itself, which looks for it there)."""
    directory = Path.cwd() if directory is None else directory
    if not (directory / SNAKEFILE).is_file():
        raise CliError(f"no {SNAKEFILE} in {directory}; {RUN_FROM_CHECKOUT}")
    return directory


@dataclass(frozen=True)
class WorkflowConfig:
    """The checked config and what ``rules/common.smk`` resolves from it."""

    values: dict[str, Any]
    checkout: Path
    output_dir: str
    models: tuple[ModelSettings, ...]
    dataset: SourceConfig  # one dataset, or the corpora of a multi-corpus run
    augmentation: AugmentationPlan | None

    @property
    def paths(self) -> OutputPaths:
        return OutputPaths(self.output_dir)


def load_workflow_config(
    checkout: Path,
    configfiles: Sequence[str] = (),
    entries: Sequence[str] = (),
    output_dir: str | None = None,
    workdir: Path | None = None,
) -> WorkflowConfig:
    """The config a run started in ``checkout`` with these options would use, resolved.

    ``output_dir`` (for ``fraudprep info``) replaces the config's own. ``workdir``: Snakemake's
    working directory (``--directory``), where it reads config.yaml; the checkout by default.
    """
    values = read_config(checkout, configfiles, entries, workdir)
    if output_dir is not None:
        values["output_dir"] = output_dir
    return resolve(values, checkout)


def read_config(
    checkout: Path,
    configfiles: Sequence[str] = (),
    entries: Sequence[str] = (),
    workdir: Path | None = None,
) -> dict[str, Any]:
    """config.yaml (of ``workdir``, the checkout by default) overlaid with ``configfiles``
    and ``--config`` ``entries``, then checked."""
    _require_snakemake()
    from snakemake.utils import update_config

    config: dict[str, Any] = {}
    workdir = checkout if workdir is None else workdir
    default = workdir / CONFIG_FILE
    if default.is_file():
        update_config(config, _load(default))
    elif not configfiles:
        # Snakemake's own refusal: the Snakefile names config.yaml and nothing replaces it.
        raise CliError(f"no {CONFIG_FILE} in {workdir} and no --configfile; {RUN_FROM_CHECKOUT}")
    overrides: dict[str, Any] = {}
    for path in configfiles:
        update_config(overrides, _load(Path(path)))
    update_config(overrides, parse_entries(entries))
    update_config(config, overrides)
    return checked(config, checkout / SCHEMA)


def _require_snakemake() -> None:
    """Snakemake's config functions are the workflow's, so the plan uses them; the package
    lists Snakemake as an extra only (``workflow``)."""
    try:
        import snakemake  # noqa: F401
    except ModuleNotFoundError as error:
        raise CliError(
            "snakemake is not installed in this environment, and its functions read the "
            "config; install it: pip install -e '.[workflow]' (make setup does)"
        ) from error


def _load(path: Path) -> dict[str, Any]:
    from snakemake.common.configfile import load_configfile
    from snakemake.exceptions import WorkflowError

    if not path.is_file():
        raise CliError(f"config file {path} does not exist; check the --configfile path")
    try:
        return load_configfile(str(path))
    except WorkflowError as error:
        raise CliError(f"config file {path}: {_first_line(error)}; fix its YAML") from error


def parse_entries(entries: Sequence[str]) -> dict[str, Any]:
    """``--config`` values as Snakemake parses them (numbers, booleans, YAML, strings)."""
    if not entries:
        return {}
    # Snakemake's own parser, imported only when needed: snakemake.cli takes over a second.
    from snakemake.cli import parse_config

    try:
        return parse_config(list(entries))
    except ValueError as error:
        raise CliError(
            f"--config {' '.join(entries)}: {_first_line(error)}; write KEY=VALUE, e.g. "
            "--config models='[resnet]' chunk_size=500"
        ) from error


def checked(config: dict[str, Any], schema: Path) -> dict[str, Any]:
    """What the Snakefile does before including the rules: types, renamed keys, schema."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from fraudprep.base.config_types import RenamedKeyError

    coerce_config(config, schema)
    try:
        for note in adopt_renamed_keys(config):
            print(note, file=sys.stderr)
    except RenamedKeyError as error:
        raise CliError(str(error)) from error
    try:
        check_config(config, schema, shown_as=str(SCHEMA))  # one line, as the Snakefile's
    except ConfigValueError as error:
        raise CliError(str(error)) from error
    try:
        validate(config, str(schema))  # fills in the defaults
    except WorkflowError as error:
        raise CliError(f"config: {_validation_problem(error)}; see {SCHEMA}") from error
    return config


def _validation_problem(error: Exception) -> str:
    """The schema's complaint (which key, what is wrong) out of Snakemake's wrapper."""
    import jsonschema

    # Snakemake raises its error while handling jsonschema's, which is then the context.
    for cause in (*error.args, error.__cause__, error.__context__):
        if isinstance(cause, jsonschema.ValidationError):
            where = ".".join(str(part) for part in cause.absolute_path)
            return f"{where}: {cause.message}" if where else cause.message
    return _first_line(error)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def resolve(values: dict[str, Any], checkout: Path) -> WorkflowConfig:
    """What ``rules/common.smk`` resolves from the config before any rule, with its checks."""
    output_dir = checked_output_dir(values["output_dir"])
    models = tuple(resolve_model_settings(values, model) for model in values["models"])
    return WorkflowConfig(
        values=values,
        checkout=checkout,
        output_dir=output_dir,
        models=models,
        dataset=source_config(values),
        augmentation=AugmentationPlan.from_config(values.get("augmentation")),
    )
