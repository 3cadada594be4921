# A checkpoint: how many chunks there are is known only once the manifest exists.
checkpoint split_chunks:
    input:
        manifest=PATHS.manifest,
        provenance=chunks_provenance,
    output:
        PATHS.chunks,
    log:
        f"{LOGS}/split_chunks.log",
    benchmark:
        f"{BENCHMARKS}/split_chunks.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        chunk_size=config["chunk_size"],
    script:
        "../workflow/scripts/split_chunks.py"
