"""Snakemake script: write a model's resolved settings (profile, batch size, memory mode)."""

import json
import sys
from pathlib import Path

snakemake = snakemake  # noqa: F821 - injected by Snakemake
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from fraudprep.atomic import atomic_write  # noqa: E402
from fraudprep.logs import log_job_to  # noqa: E402

log_job_to(snakemake.log[0])
with atomic_write(snakemake.output[0], "w", encoding="utf-8") as handle:
    json.dump(dict(snakemake.params.settings), handle, indent=1, sort_keys=True)
print(f"Settings for {snakemake.wildcards.model}: {dict(snakemake.params.settings)}")
