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
    if "integer" in types and INTEGER.fullmatch(text):
        return int(text)
    if "number" in types:
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
