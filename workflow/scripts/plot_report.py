"""Snakemake script: the report's figures (see fraudprep.report_plots and docs/report.md)."""

import sys
from pathlib import Path

snakemake = snakemake  # noqa: F821 - injected by Snakemake
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from fraudprep.chunks import read_chunks  # noqa: E402
from fraudprep.logs import log_job_to  # noqa: E402
from fraudprep.report_plots import dataset_report, resources_report  # noqa: E402

log_job_to(snakemake.log[0])
model = snakemake.wildcards.model
if snakemake.rule == "plot_job_resources":
    chunks = [chunk.chunk for chunk in read_chunks(snakemake.input.chunks)]
    resources_report(
        benchmarks=[snakemake.params.benchmark.format(model=model, chunk=c) for c in chunks],
        logs=[snakemake.params.log.format(model=model, chunk=c) for c in chunks],
        path=snakemake.output[0],
        model=model,
    )
else:
    dataset_report(
        stats_path=snakemake.input.stats,
        metadata_path=snakemake.input.metadata,
        failures_path=snakemake.input.failures,
        outputs=dict(snakemake.output.items()),
        per_class=snakemake.params.per_class,
    )
