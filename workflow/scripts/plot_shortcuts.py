"""Snakemake script: the shortcut table and figures (fraudprep.report.report_shortcuts)."""

from fraudprep.base.formats import format_of_document
from fraudprep.base.logs import log_job_to
from fraudprep.report.report_shortcuts import shortcut_figures

log_job_to(snakemake.log[0])
stats_path = snakemake.input.stats
shortcut_figures(
    stats=format_of_document(stats_path).read_document(stats_path),
    properties_path=snakemake.input.properties,
    outputs=dict(snakemake.output.items()),
)
