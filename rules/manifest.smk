rule build_manifest:
    input:
        manifest_input,
    output:
        f"{OUT}/manifest.csv",
    log:
        "logs/build_manifest.log",
    benchmark:
        "benchmarks/build_manifest.tsv"
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        source=manifest_source,
    script:
        "../workflow/scripts/build_manifest.py"
