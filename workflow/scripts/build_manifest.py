"""Snakemake script: write the manifest table (see fraudprep.manifest)."""

import sys
from pathlib import Path

snakemake = snakemake  # noqa: F821 - injected by Snakemake
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from fraudprep.logs import log_job_to  # noqa: E402
from fraudprep.manifest import build_manifest  # noqa: E402

log_job_to(snakemake.log[0])
source = snakemake.params.source
build_manifest(snakemake.output[0], source.get("input_dir"), source.get("manifest"))
