rule build_manifest:
    input:
        manifest_input,
    output:
        f"{OUT}/manifest.csv",
    params:
        source=manifest_source(),
    log:
        "logs/build_manifest.log",
    benchmark:
        "benchmarks/build_manifest.tsv"
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    script:
        "../workflow/scripts/build_manifest.py"
