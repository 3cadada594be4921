"""base/config_check.py: a schema violation in words, one line."""

from __future__ import annotations

import pytest
import yaml
from helpers import REPO

from fraudprep.base.config_check import ConfigValueError, check_config, first_violation, shown

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "size": {
            "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["auto"]}]
        },
        "either": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "threshold": {"type": ["number", "null"], "minimum": 0},
        "names": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "block": {
            "type": "object",
            "properties": {"pairs": {"type": "array", "items": {"type": "number"}}},
        },
    },
}


@pytest.mark.parametrize(
    ("config", "line"),
    [
        ({"size": 0}, "config key 'size' = 0: must be an integer of at least 1 or auto"),
        ({"size": "big"}, "config key 'size' = 'big': must be an integer of at least 1 or auto"),
        # both alternatives match: oneOf says only one may
        ({"either": 3}, "config key 'either' = 3: must be only one of an integer or a number"),
        ({"ratio": 0}, "config key 'ratio' = 0: must be more than 0"),
        (
            {"threshold": "x"},
            "config key 'threshold' = 'x': must be a number of at least 0 or null",
        ),
        ({"threshold": -1}, "config key 'threshold' = -1: must be at least 0"),
        ({"names": []}, "config key 'names' = []: must be a list of at least 1 item(s)"),
        ({"names": [1]}, "config key 'names[0]' = 1: must be a string"),
        ({"block": {"pairs": [1, "b"]}}, "config key 'block.pairs[1]' = 'b': must be a number"),
        (
            {"block": "{pairs: [1, 2}"},
            "config key 'block' = '{pairs: [1, 2}' is not valid YAML: "
            "expected ',' or ']', but got '}' at character 14",
        ),
        (
            {"block": "a: 1\nb: [\n"},
            "config key 'block' = 'a: 1\\nb: [\\n' is not valid YAML: "
            "expected the node content, but found '<stream end>' at line 3, column 1",
        ),
        ({"sise": 1}, "config key 'sise' is not a setting; did you mean 'size'?"),
        ({"zzz": 1}, "config key 'zzz' is not a setting"),
    ],
)
def test_violations_in_words(config: dict, line: str):
    assert first_violation(config, SCHEMA) == line


def test_a_valid_config_has_no_violation_and_long_values_are_cut():
    assert first_violation({"size": "auto", "ratio": 0.5, "names": ["a"]}, SCHEMA) is None
    assert shown("x" * 100) == "'" + "x" * 56 + "..."
    assert shown({"a": [1, 2]}) == "{a: [1, 2]}"
    assert shown(None) == "null" and shown(True) == "true"


def test_the_shipped_config_passes_and_a_bad_one_names_the_schema(tmp_path):
    schema = REPO / "schemas" / "config.schema.yaml"
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    check_config(config, schema)
    with pytest.raises(ConfigValueError) as raised:
        check_config({**config, "chunk_size": 0}, schema, shown_as="schemas/config.schema.yaml")
    assert str(raised.value) == (
        "config key 'chunk_size' = 0: must be at least 1 (schemas/config.schema.yaml)"
    )


# NaN passes every bound (nan < 0 and nan > 1 are both false) and JSON Schema counts NaN and
# infinity as numbers: max_failure_fraction=nan turned the failure stop off.
@pytest.mark.parametrize(
    ("config", "line"),
    [
        ({"ratio": float("nan")}, "config key 'ratio' = nan: must be a finite number of more "
         "than 0 and at most 1"),
        ({"ratio": float("inf")}, "config key 'ratio' = inf: must be a finite number of more "
         "than 0 and at most 1"),
        ({"threshold": float("-inf")}, "config key 'threshold' = -inf: must be a finite number "
         "of at least 0 or null"),
        ({"block": {"pairs": [1, float("nan")]}},
         "config key 'block.pairs[1]' = nan: must be a finite number"),
        ({"size": float("nan")}, "config key 'size' = nan: must be an integer of at least 1 or "
         "auto"),
        # where the schema gives no type, any NaN still stops it
        ({"block": {"other": [float("inf")]}}, "config key 'block.other[0]' = inf: must be a "
         "finite number"),
    ],
)  # fmt: skip
def test_nan_and_infinity_are_no_number(config: dict, line: str):
    assert first_violation(config, SCHEMA) == line


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("max_failure_fraction: nan", "config key 'max_failure_fraction' = nan: must be a "
         "finite number of at least 0 and at most 1"),
        ("max_failure_fraction: .inf", "config key 'max_failure_fraction' = inf: must be a "
         "finite number of at least 0 and at most 1"),
        ("min_duration: NaN", "config key 'min_duration' = nan: must be a finite number of at "
         "least 0"),
        ("max_input_seconds: .NaN", "config key 'max_input_seconds' = nan: must be a finite "
         "number of more than 0"),
        ("shortcut_auc_warning: -.inf", "config key 'shortcut_auc_warning' = -inf: must be a "
         "finite number of at least 0.5 and at most 1"),
        ("speaker_split: {training: nan, validation: 0.1, testing: 0.1}",
         "config key 'speaker_split.training' = nan: must be a finite number of at least 0"),
        ("feature_profiles: {raw: {duration: nan}}", "config key 'feature_profiles.raw.duration' "
         "= nan: must be a finite number of more than 0"),
    ],
)  # fmt: skip
def test_nan_or_infinity_in_a_config_file_is_one_line(tmp_path, text: str, line: str):
    from fraudprep.base.config_types import coerce_config

    schema = REPO / "schemas" / "config.schema.yaml"
    config = {**yaml.safe_load((REPO / "config.yaml").read_text()), **yaml.safe_load(text)}
    coerce_config(config, schema)  # 'nan' is text to YAML, .nan a float: both end up NaN
    with pytest.raises(ConfigValueError) as raised:
        check_config(config, schema, shown_as="schemas/config.schema.yaml")
    assert str(raised.value) == f"{line} (schemas/config.schema.yaml)"
