"""Snakemake script: refuse a run whose outputs will not fit (see fraudprep.diskspace)."""

from pathlib import Path

from fraudprep.diskspace import run_disk_check
from fraudprep.logs import log_job_to

log_job_to(snakemake.log[0])
run_disk_check(
    manifest_path=snakemake.input.manifest,
    settings_paths=list(snakemake.input.settings),
    output_dir=str(Path(snakemake.output[0]).parent),
    augmentation=snakemake.params.augmentation,
    estimate_path=snakemake.output[0],
)
