"""Snakemake script: a model's data figures (see fraudprep.report_plots and docs/report.md)."""

from fraudprep.logs import log_job_to
from fraudprep.report_plots import dataset_report

log_job_to(snakemake.log[0])
dataset_report(
    stats_path=snakemake.input.stats,
    metadata_path=snakemake.input.metadata,
    failures_path=snakemake.input.failures,
    outputs=dict(snakemake.output.items()),
    per_class=snakemake.params.per_class,
)
