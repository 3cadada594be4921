# Settings are resolved while the workflow is parsed, in the process that starts the run, and
# written down here: a cluster job then uses exactly these (see fraudprep.run.settings).
rule write_settings:
    input:
        model_provenance,
    output:
        PATHS.settings("{model}"),
    log:
        f"{LOGS}/write_settings/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/write_settings/{{model}}.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        # A plain dict: Snakemake compares params of this kind between runs.
        settings=lambda wildcards: SETTINGS[wildcards.model].as_dict(),
    script:
        "../workflow/scripts/write_settings.py"
