"""Snakemake script: write a model's resolved settings (see fraudprep.run.settings)."""

from fraudprep.base.logs import log_job_to
from fraudprep.run.settings import ModelSettings, write_settings

log_job_to(snakemake.log[0])
write_settings(snakemake.output[0], ModelSettings.from_dict(snakemake.params.settings))
