# A checkpoint: how many chunks there are is known only once the manifest exists.
checkpoint split_chunks:
    input:
        f"{OUT}/manifest.csv",
    output:
        f"{OUT}/chunks.csv",
    params:
        chunk_size=config["chunk_size"],
    log:
        "logs/split_chunks.log",
    benchmark:
        "benchmarks/split_chunks.tsv"
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    script:
        "../workflow/scripts/split_chunks.py"
