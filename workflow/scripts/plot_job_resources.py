"""Snakemake script: the extraction jobs' runtime and memory (fraudprep.report.job_resources)."""

from fraudprep.base.logs import log_job_to
from fraudprep.report.job_resources import resources_report

log_job_to(snakemake.log[0])
resources_report(
    chunks_path=snakemake.input.chunks,
    benchmark_pattern=snakemake.params.benchmark,
    log_pattern=snakemake.params.log,
    path=snakemake.output[0],
)
