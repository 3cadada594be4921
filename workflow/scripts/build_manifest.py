"""Snakemake script: write the manifest table (see fraudprep.inputs.manifest_build)."""

from fraudprep.base.logs import log_job_to
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest

log_job_to(snakemake.log[0])
source = {k: v for k, v in dict(snakemake.params.source).items() if k != "fingerprint"}
build_manifest(
    snakemake.output.manifest,
    DatasetConfig(**source),
    leakage_path=snakemake.output.leakage,
    hash_files=snakemake.params.hash_files,
    fail_on_leakage=snakemake.params.fail_on_leakage,
    skipped_path=snakemake.output.skipped,
)
