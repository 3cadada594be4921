# fraudprep: labelled speech audio -> bounded-memory feature batches for deepfake detectors.
#   build_manifest -> split_chunks (checkpoint) -> extract_features (chunk, every model)
#   -> aggregate_batches (per model, the seed's layout)
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

# The library lives in src/ next to this workflow; put it first on the path, here and in every
# job, so the workflow always runs the code of this checkout, installed or not.
LIBRARY = str(Path(workflow.basedir) / "src")
sys.path.insert(0, LIBRARY)
from fraudprep.base.processes import import_path_for_jobs

import_path_for_jobs(LIBRARY)
from fraudprep.base.config_types import (
    RenamedKeyError,
    adopt_renamed_keys,
    coerce_config,
)
from fraudprep.base.config_check import ConfigValueError, check_config

min_version("9.0")

SCHEMA = "schemas/config.schema.yaml"


configfile: "config.yaml"


# --config values inside blocks arrive as strings: give them the schema's types first.
coerce_config(config, Path(workflow.basedir) / SCHEMA)
try:
    for note in adopt_renamed_keys(config):
        print(note, file=sys.stderr)
except RenamedKeyError as error:
    sys.exit(f"fraudprep: {error}")
# Each schema violation is one line naming the key, the value and what is allowed (Snakemake's
# own validate would print the failing part of the schema); validate then fills the defaults.
try:
    check_config(config, Path(workflow.basedir) / SCHEMA, shown_as=SCHEMA)
except ConfigValueError as error:
    sys.exit(f"fraudprep: {error}")
validate(config, SCHEMA)


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/run.smk"
include: "rules/manifest.smk"
include: "rules/settings.smk"
include: "rules/chunks.smk"
include: "rules/disk.smk"
include: "rules/extract.smk"
include: "rules/aggregate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        REPORT_OUTPUTS if config["report_figures"] else [],
        # Known before the split_chunks checkpoint: write_settings runs beside build_manifest.
        ALL_SETTINGS,
