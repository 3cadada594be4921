"""Snakemake script: write the manifest table (see fraudprep.manifest_build)."""

import sys
from pathlib import Path

snakemake = snakemake  # noqa: F821 - injected by Snakemake
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from fraudprep.datasets import DatasetConfig  # noqa: E402
from fraudprep.logs import log_job_to  # noqa: E402
from fraudprep.manifest_build import build_manifest  # noqa: E402

log_job_to(snakemake.log[0])
source = {k: v for k, v in dict(snakemake.params.source).items() if k != "fingerprint"}
build_manifest(
    snakemake.output.manifest,
    DatasetConfig(**source),
    leakage_path=snakemake.output.leakage,
    hash_files=snakemake.params.hash_files,
    fail_on_leakage=snakemake.params.fail_on_leakage,
    skipped_path=snakemake.output.skipped,
)
