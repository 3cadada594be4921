# One job per chunk for every model: each file is decoded and resampled once, then turned into
# each model's features (decoding is the larger part of a file's cost). Adding a model, or
# changing one model's settings, redoes the chunk's jobs for every model.
rule extract_features:
    input:
        manifest=PATHS.manifest,
        chunks=PATHS.chunks,
        settings=ALL_SETTINGS,
        disk_space=PATHS.disk_space,
    output:
        [directory(PATHS.chunk_dir(model, "{chunk}")) for model in MODELS],
    log:
        f"{LOGS}/extract_features/{{chunk}}.log",
    benchmark:
        f"{BENCHMARKS}/extract_features/{{chunk}}.tsv"
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
        augmentation=config.get("augmentation"),
    script:
        "../workflow/scripts/extract_features.py"
