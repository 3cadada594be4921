# Before the first extraction job: will every model's outputs fit on output_dir's disk? A run
# that fills the disk after hours of work helps no one (see fraudprep.outputs.diskspace).
rule check_disk_space:
    input:
        manifest=PATHS.manifest,
        settings=ALL_SETTINGS,
    output:
        PATHS.disk_space,
    log:
        f"{LOGS}/check_disk_space.log",
    retries: NO_RETRIES
    localrule: True
    conda:
        "../envs/fraudprep.yaml"
    params:
        augmentation=config.get("augmentation"),
    script:
        "../workflow/scripts/check_disk_space.py"
