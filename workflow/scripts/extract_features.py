"""Snakemake script: extract one chunk for every model (see fraudprep.extraction.extract)."""

from fraudprep.base.atomic import OutputWriteError
from fraudprep.base.logs import log_job_to, one_line_on
from fraudprep.extraction.extract import run_extraction_job

log_job_to(snakemake.log[0])
with one_line_on(OutputWriteError):
    run_extraction_job(
        manifest_path=snakemake.input.manifest,
        chunks_path=snakemake.input.chunks,
        settings_paths=list(snakemake.input.settings),
        chunk_id=snakemake.wildcards.chunk,
        output_dirs=list(snakemake.output),
        min_duration=snakemake.params.min_duration,
        max_input_seconds=snakemake.params.max_input_seconds,
        augmentation=snakemake.params.augmentation,
    )
