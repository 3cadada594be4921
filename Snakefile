# fraudprep: labelled speech audio -> bounded-memory feature batches for deepfake detectors.
#   build_manifest -> split_chunks (checkpoint) -> extract_features (model x chunk)
#   -> aggregate_batches (per model, the seed's layout)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "rules/common.smk"
include: "rules/manifest.smk"
include: "rules/settings.smk"
include: "rules/chunks.smk"
include: "rules/extract.smk"
include: "rules/aggregate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        REPORT_OUTPUTS if config["report_figures"] else [],
        # Known before the split_chunks checkpoint: resolve_settings runs beside build_manifest.
        expand(f"{OUT}/{{model}}/settings.json", model=MODELS),


onstart:
    note_run_owner()


onsuccess:
    print_run_summary()
    end_of_run()


onerror:
    end_of_run()
