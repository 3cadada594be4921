"""Snakemake script: the manifest cut into chunks of chunk_size files (fraudprep.inputs.chunks)."""

from fraudprep.base.logs import log_job_to
from fraudprep.inputs.chunks import write_chunks

log_job_to(snakemake.log[0])
chunks = write_chunks(snakemake.input.manifest, snakemake.params.chunk_size, snakemake.output[0])
print(f"{len(chunks)} chunks of at most {snakemake.params.chunk_size} files")
