"""Snakemake script: cut the manifest into chunks of chunk_size files (see fraudprep.chunks)."""

import sys
from pathlib import Path

snakemake = snakemake  # noqa: F821 - injected by Snakemake
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from fraudprep.chunks import write_chunks  # noqa: E402
from fraudprep.logs import log_job_to  # noqa: E402

log_job_to(snakemake.log[0])
chunks = write_chunks(snakemake.input.manifest, snakemake.params.chunk_size, snakemake.output[0])
print(f"{len(chunks)} chunks of at most {snakemake.params.chunk_size} files")
