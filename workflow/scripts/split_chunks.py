"""Snakemake script: cut the manifest into chunks of chunk_size files (see fraudprep.chunks)."""

from fraudprep.chunks import write_chunks
from fraudprep.logs import log_job_to

log_job_to(snakemake.log[0])
chunks = write_chunks(snakemake.input.manifest, snakemake.params.chunk_size, snakemake.output[0])
print(f"{len(chunks)} chunks of at most {snakemake.params.chunk_size} files")
