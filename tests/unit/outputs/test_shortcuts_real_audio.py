"""The shortcut properties on files nobody here shaped: recorded speech from Debian packages,
written by real encoders (tests/encoders.py). The commonest bandwidth shortcut, telephone-band
fakes against wideband reals, must show in ``bandwidth_hz`` for every kind of profile."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml
from encoders import needs_encoders, real_encoder_files
from helpers import REPO

from fraudprep.extraction.extract import extract_chunk_models
from fraudprep.inputs.chunks import write_chunks
from fraudprep.inputs.datasets import DatasetConfig
from fraudprep.inputs.manifest_build import build_manifest
from fraudprep.outputs.auc import roc_auc
from fraudprep.run.settings import resolve_model_settings

pytestmark = needs_encoders()

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
NARROWBAND_RATE = 8000  # telephone codecs and LAME at 8 kHz: nothing above 4 kHz
WIDEBAND_RATE = 16000  # every other file: speech up to the model rate's 8 kHz


@pytest.fixture(scope="module")
def properties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """properties.csv of resnet (bandwidth off its own spectrum, trimmed), lfcc (a 20 ms
    window, untrimmed) and raw (measured apart), for a tree of narrowband files as "fake" and
    wideband ones as "real"."""
    directory = tmp_path_factory.mktemp("real-bandwidth")
    tree = directory / "tree" / "training"
    for encoded in real_encoder_files(directory / "encoded"):
        label = "fake" if encoded.sample_rate == NARROWBAND_RATE else "real"
        if encoded.sample_rate == NARROWBAND_RATE or encoded.sample_rate >= WIDEBAND_RATE:
            (tree / label).mkdir(parents=True, exist_ok=True)
            shutil.copy(encoded.path, tree / label / encoded.path.name)
    manifest = directory / "manifest.csv"
    build_manifest(manifest, DatasetConfig(input_dir=str(directory / "tree")), hash_files=False)
    [chunk] = write_chunks(manifest, 1000, directory / "chunks.csv")
    models = [resolve_model_settings(CONFIG, name) for name in ("resnet", "lfcc", "raw")]
    outputs = [directory / "out" / settings.model for settings in models]
    extract_chunk_models(manifest, chunk, models, outputs)
    return {output.name: pd.read_csv(output / "properties.csv") for output in outputs}


@pytest.mark.parametrize("model", ["resnet", "lfcc", "raw"])
def test_telephone_band_and_wideband_speech_are_told_apart_by_bandwidth(properties, model):
    table = properties[model]
    narrow, wide = table[table["label"] == 1], table[table["label"] == 0]
    assert len(narrow) >= 6 and len(wide) >= 20  # GSM, mu-law, A-law, IMA ADPCM, AMR-NB, MP3
    # 4 kHz is the narrowband files' Nyquist; lfcc's short window smears the edge by ~300 Hz.
    assert narrow["bandwidth_hz"].max() < 4300, narrow[["path", "bandwidth_hz"]]
    # Wideband: within 60 dB of the peak up to the encoders' own low-pass (LAME at 16 kHz
    # mono: 7.25 kHz), whatever the container, codec or channel count.
    assert wide["bandwidth_hz"].min() > 7000, wide[["path", "bandwidth_hz"]]
    assert roc_auc(table["bandwidth_hz"].to_numpy(), table["label"].to_numpy() == 1) == 0.0
