rule aggregate_batches:
    input:
        manifest=f"{OUT}/manifest.csv",
        chunks=f"{OUT}/chunks.csv",
        leakage=f"{OUT}/leakage.csv",
        chunk_dirs=chunk_dirs,
    output:
        **AUGMENTATION_OUTPUTS,
        metadata=f"{OUT}/{{model}}/{STORAGE.metadata_name}",
        stats=f"{OUT}/{{model}}/{STORAGE.stats_name}",
        failures=f"{OUT}/{{model}}/failures.csv",
        properties=f"{OUT}/{{model}}/properties.csv",
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
