"""Snakemake script: merge a model's chunks into the seed's layout (fraudprep.outputs.aggregate)."""

from fraudprep.base.atomic import OutputWriteError
from fraudprep.base.logs import log_job_to, one_line_on
from fraudprep.outputs.aggregate import DamagedChunkError, TooManyFailures, run_aggregation_job

log_job_to(snakemake.log[0])
with one_line_on(TooManyFailures, DamagedChunkError, OutputWriteError):
    run_aggregation_job(
        chunks_path=snakemake.input.chunks,
        leakage_path=snakemake.input.leakage,
        chunk_dirs=list(snakemake.input.chunk_dirs),
        model_dir=snakemake.params.model_dir,
        metadata_path=snakemake.output.metadata,
        stats_path=snakemake.output.stats,
        failures_path=snakemake.output.failures,
        max_failure_fraction=snakemake.params.max_failure_fraction,
        manifest_path=snakemake.input.manifest,
        properties_path=snakemake.output.properties,
        shortcut_threshold=snakemake.params.shortcut_threshold,
        copy_failures_path=snakemake.output.get("copy_failures"),
    )
