rule aggregate_batches:
    input:
        manifest=PATHS.manifest,
        chunks=PATHS.chunks,
        leakage=PATHS.leakage,
        chunk_dirs=chunk_dirs,
    output:
        **AUGMENTATION_OUTPUTS,
        metadata=f"{PATHS.model_dir('{model}')}/{STORAGE.metadata_name}",
        stats=f"{PATHS.model_dir('{model}')}/{STORAGE.stats_name}",
        failures=PATHS.failures("{model}"),
        properties=PATHS.properties("{model}"),
    log:
        f"{LOGS}/aggregate_batches/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/aggregate_batches/{{model}}.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        model_dir=lambda wildcards: model_dir(wildcards.model),
        max_failure_fraction=config["max_failure_fraction"],
        shortcut_threshold=config["shortcut_auc_warning"],
    script:
        "../workflow/scripts/aggregate_batches.py"
