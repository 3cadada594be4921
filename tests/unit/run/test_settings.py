from __future__ import annotations

import pytest
import yaml
from helpers import REPO

from fraudprep.base.memory import GB
from fraudprep.run.settings import (
    ConfigError,
    FeatureProfile,
    ModelSettings,
    resolve_model_settings,
)

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def settings(model: str, **overrides) -> ModelSettings:
    return resolve_model_settings({**CONFIG, **overrides}, model, available_bytes=24 * GB)


def test_shipped_models_resolve_to_the_seed_settings():
    resnet = settings("resnet")
    assert (resnet.batch_size, resnet.memory_mode) == (8, "standard")
    assert resnet.profile.output_shape == (224, 224, 3)
    low = settings("resnet_low_memory")
    assert low.batch_size == 4
    assert (low.profile.duration, low.profile.n_mels) == (5.0, 64)


def test_low_memory_modes_cap_profiles_and_batches():
    unetr = settings("unetr", memory_mode="low")
    assert unetr.batch_size == 2
    assert unetr.profile.output_shape == (128, 128)
    assert (unetr.profile.duration, unetr.profile.n_mels) == (5.0, 64)
    assert settings("resnet_low_memory", memory_mode="very_low").batch_size == 1


def test_explicit_batch_size_wins():
    assert settings("resnet", batch_size=3, memory_mode="low").batch_size == 3


def test_bad_profiles_are_rejected_with_the_key_named():
    bad = {
        **CONFIG,
        "feature_profiles": {
            "vit": {"height": 100, "width": 224, "patch_size": 16},
            "typo": {"n_mel": 64},
        },
    }
    with pytest.raises(ConfigError, match=r"feature_profiles\.vit: output side 100"):
        resolve_model_settings(bad, "vit")
    with pytest.raises(ConfigError, match=r"feature_profiles.typo: unknown key\(s\) \['n_mel'\]"):
        resolve_model_settings(bad, "typo")
    with pytest.raises(ConfigError, match="no such entry"):
        resolve_model_settings(bad, "vgg")


def test_settings_roundtrip_through_json_dict():
    resolved = settings("unetr")
    assert ModelSettings.from_dict(resolved.as_dict()) == resolved


def test_memory_request_grows_with_batch_size():
    assert settings("resnet", batch_size=64).job_memory_mb() > settings("resnet").job_memory_mb()


def test_unset_options_leave_the_written_settings_as_they_were():
    def profile_with(**options) -> FeatureProfile:
        return FeatureProfile(kind="raw", sample_rate=16000, duration=3.0, trim_top_db=None,
                              **options)  # fmt: skip

    values = profile_with().as_dict()
    assert "lowpass_hz" not in values and "loudness_dbfs" not in values
    assert profile_with(lowpass_hz=4000.0).as_dict()["lowpass_hz"] == 4000.0
