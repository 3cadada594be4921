# Settings are resolved once, where the workflow is started, and written down: a cluster job
# then uses exactly these (memory_mode: auto would otherwise be re-resolved on each node).
rule resolve_settings:
    input:
        model_provenance,
    output:
        f"{OUT}/{{model}}/settings.json",
    log:
        f"{LOGS}/resolve_settings/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/resolve_settings/{{model}}.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        settings=lambda wildcards: SETTINGS[wildcards.model].as_dict(),
    script:
        "../workflow/scripts/resolve_settings.py"
