"""base/config_types.py: config keys under their old names."""

from __future__ import annotations

from fraudprep.base.config_types import adopt_renamed_keys


def test_renamed_keys_move_to_their_new_name_only_when_set():
    config = {"manifest": "a.csv", "listing": ""}
    assert adopt_renamed_keys(config) == [
        "fraudprep: the config key manifest is now called listing; using 'a.csv'"
    ]
    assert config == {"listing": "a.csv"}
    unset = {"manifest": "", "listing": "b.csv"}
    assert adopt_renamed_keys(unset) == [] and unset == {"listing": "b.csv"}
