"""The config checked against the schema, each violation one line.

Snakemake's own ``validate`` reports a violation as a ``WorkflowError`` with jsonschema's
message and the whole failing part of the schema (19 lines for ``chunk_size=0``), and a
``--config`` value that is not valid YAML arrives as a plain string that the schema then
rejects without saying why. :func:`check_config` validates with the same schema first and
raises :class:`ConfigValueError` with one line: the key path, the value and what is allowed,
e.g. ``config key 'chunk_size' = 0: must be at least 1 (schemas/config.schema.yaml)``.

NaN and infinity (``nan``, ``.inf``, ``-Infinity``) are no number here: JSON Schema counts
them as numbers, and NaN passes every bound (``nan < 0`` and ``nan > 1`` are both false), so
``max_failure_fraction=nan`` would turn the failure stop off. Every number of the config must
be finite: ``config key 'max_failure_fraction' = nan: must be a finite number of at least 0
and at most 1``.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, relevance

# Values are shown in full up to this many characters, then cut with "...".
VALUE_CHARS = 60

TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "string": "a string",
    "object": "a mapping such as {key: value}",
    "array": "a list such as [a, b]",
    "null": "null",
}


class ConfigValueError(ValueError):
    """A config value the schema does not allow; the message is one line."""


def check_config(config: dict[str, Any], schema_path: str | Path, shown_as: str = "") -> None:
    """Raise :class:`ConfigValueError` for the most relevant violation of the schema at
    ``schema_path`` in ``config``; the message ends with ``shown_as`` (the schema's path as
    the user knows it) in parentheses. ``config`` is not changed."""
    with open(schema_path, encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    message = first_violation(config, schema)
    if message is not None:
        where = f" ({shown_as or schema_path})"
        raise ConfigValueError(message + where)


def first_violation(config: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """One line for the most relevant violation of ``schema`` in ``config``, or None."""
    validator_class = jsonschema.validators.validator_for(schema)
    finite_only = jsonschema.validators.extend(
        validator_class, type_checker=validator_class.TYPE_CHECKER.redefine("number", _is_finite)
    )
    errors = list(finite_only(schema).iter_errors(config))
    if not errors:
        return _non_finite(config)  # a number where the schema gives no type
    # jsonschema's own choice of error, but not descending into oneOf/anyOf alternatives: the
    # line lists them all instead.
    return describe(max(errors, key=relevance))


def _is_finite(checker: Any, value: Any) -> bool:
    """JSON Schema's number, NaN and infinity left out."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _not_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _non_finite(value: Any, path: tuple[Any, ...] = ()) -> str | None:
    """The line for the first NaN or infinity anywhere in ``value``, or None."""
    if _not_finite(value):
        return f"config key '{key_path(path)}' = {shown(value)}: must be a finite number"
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            line = _non_finite(item, (*path, key))
            if line is not None:
                return line
    return None


def key_path(path: Iterable[Any]) -> str:
    """``feature_profiles.resnet.n_mels``, ``augmentation.pool[0].kind``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def shown(value: Any) -> str:
    """``value`` as the user would write it, cut to :data:`VALUE_CHARS` characters."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None or isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, dict | list):
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    else:
        text = str(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 3] + "..."


def describe(error: ValidationError) -> str:
    """One line for ``error``: the key, the value, what is allowed."""
    path = list(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties":
        return _unknown_keys(path, error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        where = f"config key '{key_path(path)}'" if path else "the config"
        return f"{where} lacks '{missing}', which is required"
    yaml_problem = _yaml_problem(value, error)
    if yaml_problem is not None:
        return f"config key '{key_path(path)}' = {shown(value)} is not valid YAML: {yaml_problem}"
    allowed = _allowed(error)
    if _not_finite(value):  # NaN or infinity where a number goes: the schema's words
        allowed = allowed.replace("a number", "a finite number")
    return f"config key '{key_path(path)}' = {shown(value)}: must be {allowed}"


def _unknown_keys(path: Sequence[Any], error: ValidationError) -> str:
    known = sorted(error.schema.get("properties", {}))
    extra = [key for key in error.instance if key not in known]
    unknown = key_path([*path, extra[0]]) if extra else key_path(path)
    line = f"config key '{unknown}' is not a setting"
    if extra:
        close = difflib.get_close_matches(str(extra[0]), known, n=1)
        if close:
            line += f"; did you mean '{key_path([*path, close[0]])}'?"
        elif path:
            line += f"; allowed here: {', '.join(known)}"
    return line


def _yaml_problem(value: Any, error: ValidationError) -> str | None:
    """Why ``value`` is not YAML, when it is a string where the schema wants a mapping or a
    list: Snakemake passes a ``--config`` value it cannot parse on as that string."""
    if not isinstance(value, str) or error.validator not in ("type", "oneOf", "anyOf"):
        return None
    if not {"object", "array"} & set(_accepted_types(error.schema)):
        return None
    try:
        yaml.safe_load(value)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        reason = getattr(problem, "problem", None) or str(problem).splitlines()[0]
        at = f" at character {mark.column + 1}" if mark is not None and mark.line == 0 else ""
        if mark is not None and mark.line > 0:
            at = f" at line {mark.line + 1}, column {mark.column + 1}"
        return f"{reason}{at}"
    return None


def _accepted_types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    types = [declared] if isinstance(declared, str) else list(declared)
    for alternative in schema.get("oneOf", []) + schema.get("anyOf", []):
        types += _accepted_types(alternative)
    return types


def _allowed(error: ValidationError) -> str:
    """What ``error``'s schema allows, in words (after "must be")."""
    if error.validator in ("oneOf", "anyOf"):
        if error.validator == "oneOf" and _matches_several(error):
            return "only one of " + " or ".join(_in_words(s) for s in error.validator_value)
        return " or ".join(_in_words(alternative) for alternative in error.validator_value)
    if error.validator == "type":
        return _in_words(error.schema)
    bound = _bound(error.validator, error.validator_value)
    if bound is not None:
        return bound
    if error.validator == "enum":
        return _enum_words(error.validator_value)
    if error.validator == "const":
        return shown(error.validator_value)
    if error.validator == "minItems":
        return f"a list of at least {error.validator_value} item(s)"
    if error.validator == "maxItems":
        return f"a list of at most {error.validator_value} item(s)"
    if error.validator == "pattern":
        return f"text matching {error.validator_value}"
    return f"valid: {error.message}"  # a check this module does not word yet


def _matches_several(error: ValidationError) -> bool:
    """True when a oneOf failed because more than one alternative matched."""
    return not error.context


def _bound(validator: str, limit: Any) -> str | None:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
        "minLength": "text of at least",
    }
    if validator not in words:
        return None
    if validator == "minLength":
        return f"text of at least {limit} character(s)"
    return f"{words[validator]} {limit}"


def _enum_words(values: Sequence[Any]) -> str:
    names = [str(value) if isinstance(value, str) else shown(value) for value in values]
    if len(names) == 1:
        return names[0]
    return "one of " + ", ".join(names)


def _in_words(schema: dict[str, Any]) -> str:
    """A schema (an alternative of a oneOf, or a typed key) in words: ``an integer of at
    least 1``, ``auto``, ``a number or null``."""
    if "enum" in schema:
        return _enum_words(schema["enum"])
    if "const" in schema:
        return shown(schema["const"])
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(_in_words(s) for s in schema.get("oneOf", []) + schema.get("anyOf", []))
    declared = schema.get("type", [])
    types = [declared] if isinstance(declared, str) else list(declared)
    words = [TYPE_WORDS.get(kind, kind) for kind in types]
    limits = [
        bound
        for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
        if key in schema and (bound := _bound(key, schema[key])) is not None
    ]
    if words and limits and types[0] in ("integer", "number"):
        words[0] += " of " + " and ".join(limits)
    return " or ".join(words) if words else "valid"
