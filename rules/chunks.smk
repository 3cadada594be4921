# A checkpoint: how many chunks there are is known only once the manifest exists.
checkpoint split_chunks:
    input:
        manifest=f"{OUT}/manifest.csv",
        provenance=chunks_provenance,
    output:
        f"{OUT}/chunks.csv",
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
