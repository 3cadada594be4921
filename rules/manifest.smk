rule build_manifest:
    input:
        manifest_input,
        provenance=manifest_provenance,
    output:
        manifest=PATHS.manifest,
        leakage=PATHS.leakage,
        skipped=PATHS.skipped,
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
