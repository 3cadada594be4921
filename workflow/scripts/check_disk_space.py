"""Snakemake script: refuse a run whose outputs will not fit (see fraudprep.outputs.diskspace)."""

from pathlib import Path

from fraudprep.base.logs import log_job_to
from fraudprep.outputs.diskspace import run_disk_check

log_job_to(snakemake.log[0])
run_disk_check(
    manifest_path=snakemake.input.manifest,
    settings_paths=list(snakemake.input.settings),
    output_dir=str(Path(snakemake.output[0]).parent),
    augmentation=snakemake.params.augmentation,
    estimate_path=snakemake.output[0],
)
