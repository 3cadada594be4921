rule build_manifest:
    input:
        manifest_input,
        provenance=manifest_provenance,
    output:
        manifest=f"{OUT}/manifest.csv",
        leakage=f"{OUT}/leakage.csv",
        skipped=f"{OUT}/skipped.csv",
    log:
        f"{LOGS}/build_manifest.log",
    benchmark:
        f"{BENCHMARKS}/build_manifest.tsv"
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        source=manifest_source,
        hash_files=config["hash_files"],
        fail_on_leakage=config["fail_on_leakage"],
    script:
        "../workflow/scripts/build_manifest.py"
