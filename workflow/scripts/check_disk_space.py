"""Snakemake script: refuse a run whose outputs will not fit (see fraudprep.diskspace)."""

from fraudprep.diskspace import run_disk_check
from fraudprep.logs import log_job_to

log_job_to(snakemake.log[0])
run_disk_check(
    manifest_path=snakemake.input.manifest,
    settings_paths=list(snakemake.input.settings),
    output_dir=snakemake.params.output_dir,
    augmentation=snakemake.params.augmentation,
    estimate_path=snakemake.output[0],
)
