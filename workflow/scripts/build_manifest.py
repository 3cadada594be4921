"""Snakemake script: write the manifest table (see fraudprep.inputs.manifest_build)."""

from fraudprep.base.atomic import OutputWriteError
from fraudprep.base.logs import log_job_to, one_line_on
from fraudprep.inputs.corpora import source_from_record
from fraudprep.inputs.manifest import ManifestError
from fraudprep.inputs.manifest_build import build_manifest

log_job_to(snakemake.log[0])
with one_line_on(ManifestError, OutputWriteError):
    build_manifest(
        snakemake.output.manifest,
        source_from_record(dict(snakemake.params.source)),
        leakage_path=snakemake.output.leakage,
        hash_files=snakemake.params.hash_files,
        fail_on_leakage=snakemake.params.fail_on_leakage,
        skipped_path=snakemake.output.skipped,
    )
