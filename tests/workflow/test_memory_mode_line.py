"""memory_mode auto names each model's batch size in the line it prints."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from helpers import snakemake_command


def test_memory_mode_auto_names_every_model_s_batch_size(tmp_path: Path):
    listing = tmp_path / "listing.csv"
    listing.write_text("path,split,label\n")
    done = subprocess.run(
        snakemake_command(tmp_path, "-n", "--cores", "1", "--config", "memory_mode=auto",
                      f"listing={listing}", "models=[resnet,resnet_low_memory]"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = next(
        (text for text in done.stdout.splitlines() if text.startswith("memory_mode auto:")), ""
    )
    assert re.fullmatch(
        r"memory_mode auto: [\d.]+ GB available -> (standard|low|very_low) mode; "
        r"batch size per model: resnet \d+, resnet_low_memory \d+",
        line,
    ), done.stdout + done.stderr
