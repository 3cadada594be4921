rule extract_features:
    input:
        manifest=f"{OUT}/manifest.csv",
        chunks=f"{OUT}/chunks.csv",
        settings=f"{OUT}/{{model}}/settings.json",
    output:
        directory(f"{OUT}/{{model}}/chunks/{{chunk}}"),
    params:
        min_duration=config["min_duration"],
        max_input_seconds=config["max_input_seconds"],
    resources:
        mem_mb=extract_mem_mb,
        runtime=60,
    threads: 1
    log:
        "logs/extract_features/{model}/{chunk}.log",
    benchmark:
        "benchmarks/extract_features/{model}/{chunk}.tsv"
    conda:
        "../envs/fraudprep.yaml"
    script:
        "../workflow/scripts/extract_features.py"
