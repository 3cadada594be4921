"""Snakemake script: a model's data figures (fraudprep.report.report_plots, docs/report.md)."""

from fraudprep.base.logs import log_job_to
from fraudprep.report.report_plots import dataset_report

log_job_to(snakemake.log[0])
dataset_report(
    stats_path=snakemake.input.stats,
    metadata_path=snakemake.input.metadata,
    failures_path=snakemake.input.failures,
    outputs=dict(snakemake.output.items()),
    per_class=snakemake.params.per_class,
)
