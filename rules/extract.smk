rule extract_features:
    input:
        manifest=f"{OUT}/manifest.csv",
        chunks=f"{OUT}/chunks.csv",
        settings=f"{OUT}/{{model}}/settings.json",
    output:
        directory(f"{OUT}/{{model}}/chunks/{{chunk}}"),
    log:
        f"{LOGS}/extract_features/{{model}}/{{chunk}}.log",
    benchmark:
        f"{BENCHMARKS}/extract_features/{{model}}/{{chunk}}.tsv"
    priority: chunk_priority
    conda:
        "../envs/fraudprep.yaml"
    threads: 1
    resources:
        mem_mb=extract_mem_mb,
        runtime=extract_runtime,
    params:
        min_duration=config["min_duration"],
        max_input_seconds=config["max_input_seconds"],
    script:
        "../workflow/scripts/extract_features.py"
