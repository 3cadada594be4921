"""Command-line configuration in the types the schema asks for.

Snakemake turns ``--config batch_size=8`` into a number, but values inside a block
(``feature_profiles='{resnet: {n_mels: 64}}'``) and booleans written the YAML way
(``report_figures=false``) arrive as strings, which the schema then rejects. Each string the
schema wants as an integer, number, boolean or null is converted here, before validation;
anything that does not convert is left for the schema to report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
NULLS = {"null", "none", "~", ""}
INTEGER = re.compile(r"[+-]?\d+")


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    types = [declared] if isinstance(declared, str) else list(declared)
    for alternative in schema.get("oneOf", []) + schema.get("anyOf", []):
        types += _types(alternative)
    return types


def _coerce_string(value: str, schema: dict[str, Any]) -> Any:
    types = _types(schema)
    if "string" in types and value in schema.get("enum", [value]):
        return value  # a string is what the schema asks for
    text = value.strip().lower()
    if "boolean" in types and text in BOOLEANS:
        return BOOLEANS[text]
    if "null" in types and text in NULLS:
        return None
    if ("integer" in types or "number" in types) and INTEGER.fullmatch(text):
        return int(text)  # a whole number stays one, as YAML reads it in config.yaml
    if "number" in types:
        if text.lstrip("+-") in (".inf", ".nan"):  # YAML's spelling: NaN, for the check to name
            text = text.replace(".", "", 1)
        try:
            return float(text)
        except ValueError:
            pass
    return value


def coerce_to_schema(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` with every string the schema types otherwise converted (a new object)."""
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        fallback = extra if isinstance(extra, dict) else {}
        return {
            key: coerce_to_schema(item, properties.get(key, fallback))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [coerce_to_schema(item, schema.get("items", {})) for item in value]
    if isinstance(value, str):
        return _coerce_string(value, schema)
    return value


def coerce_config(config: dict[str, Any], schema_path: str | Path) -> None:
    """Convert ``config`` in place to the types of the schema at ``schema_path``."""
    with open(schema_path, encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    config.update(coerce_to_schema(config, schema))


# Keys renamed since users started writing configs: old name -> new name. `manifest` named the
# input listing, and so did `manifest.csv` the workflow's own table: two things, one word.
RENAMED_KEYS = {"manifest": "listing"}


class RenamedKeyError(ValueError):
    """A config sets a renamed key and its new name to different values."""


def adopt_renamed_keys(config: dict[str, Any]) -> list[str]:
    """Move values given under an old key name to the new one, in place; return one note per
    key moved, for the user to update their command or config."""
    notes = []
    for old, new in RENAMED_KEYS.items():
        if old not in config:
            continue
        value = config.pop(old)
        if value in (None, "") or value == config.get(new):
            continue
        if config.get(new) not in (None, ""):
            raise RenamedKeyError(
                f"{old} (now called {new}) is {value!r} but {new} is {config[new]!r}; "
                f"set {new} only"
            )
        config[new] = value
        notes.append(f"fraudprep: the config key {old} is now called {new}; using {value!r}")
    return notes
