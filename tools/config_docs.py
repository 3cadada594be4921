"""docs/configuration.md, generated from schemas/config.schema.yaml (``make docs``).

    .venv/bin/python -m tools.config_docs            # writes docs/configuration.md
    .venv/bin/python -m tools.config_docs --check    # exit status 1 when it is stale

The schema is the one place a key is described: its type, default, allowed values and
``description`` become one table row. Feature-profile keys have no default in the schema (a
profile block names only what it sets); theirs are the field defaults of
``fraudprep.run.settings.FeatureProfile``, and the profiles ``config.yaml`` ships are tabled
beside them. The generator refuses a key without a description, a profile key the schema and
``FeatureProfile`` do not share, and a default ``config.yaml`` and the schema disagree on.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path("schemas/config.schema.yaml")
CONFIG = Path("config.yaml")
OUTPUT = Path("docs/configuration.md")
NO_DEFAULT = object()

INTRO = """\
All settings live in `config.yaml`; `schemas/config.schema.yaml` describes and validates them
before anything runs. Override any key on the command line:

```bash
.venv/bin/snakemake --cores 2 --config input_dir=/data/for-norm output_dir=out models='[resnet]'
.venv/bin/snakemake --cores 2 --config report_figures=false \\
    feature_profiles='{resnet: {n_mels: 64}}'
```

Values are read as YAML and given the schema's types (`false`/`true`, numbers inside a block),
and a block on the command line is merged into the one in `config.yaml` key by key. For many
changes, a second config file overlays the first: `--configfile config.yaml my-run.yaml`.
A value the schema rejects stops the run before any job, with one line naming the key
([failures.md](failures.md#bad-configuration-and-bad-listings))."""


class SchemaDocError(ValueError):
    """The schema cannot be documented as it is; the message says what to fix."""


# --- Markdown cells ------------------------------------------------------------------------


# In prose (outside code spans): arrows and comparisons as their signs, then what Markdown
# would read as HTML or emphasis made literal, then mentions of a docs page made links.
_SIGNS = (("->", "→"), (">=", "≥"), ("<=", "≤"))
_DOCS_PAGE = re.compile(r"\bdocs/([\w-]+\.md)\b")


def _escaped_prose(text: str) -> str:
    for ascii_sign, sign in _SIGNS:
        text = text.replace(ascii_sign, sign)
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("*", r"\*")
    return _DOCS_PAGE.sub(r"[\1](\1)", text)  # the page is written into docs/


def cell(text: str) -> str:
    """``text`` as one Markdown table cell: one line, pipes escaped, prose made literal."""
    parts = " ".join(str(text).split()).split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = _escaped_prose(parts[i])
    return "`".join(parts).replace("|", r"\|")


def code(value: Any) -> str:
    """A value as YAML in a code span: `for`, `""`, `[resnet, unetr]`, `null`."""
    if isinstance(value, str) and value == "":
        return '`""`'
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    elif text.endswith("..."):
        text = text[: -len("...")].strip()
    return f"`{text}`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


# --- Reading the schema ----------------------------------------------------------------------

_TYPE_NAMES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "object": "mapping",
    "null": "null",
}


def type_text(schema: Mapping[str, Any]) -> str:
    """``integer``, ``number or null``, ``list of string``, ``integer or string``."""
    if "oneOf" in schema:
        return " or ".join(dict.fromkeys(type_text(alt) for alt in schema["oneOf"]))
    declared = schema.get("type", [])
    names = [declared] if isinstance(declared, str) else list(declared)
    texts = []
    for name in names:
        if name == "array":
            items = schema.get("items", {})
            texts.append(f"list of {type_text(items)}" if items.get("type") else "list")
        else:
            texts.append(_TYPE_NAMES.get(name, name))
    return " or ".join(texts) or "any"


def _range_text(schema: Mapping[str, Any]) -> str:
    bounds = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            bounds.append(f"{sign} {schema[key]:g}")
    return " and ".join(bounds)


def allowed_text(schema: Mapping[str, Any]) -> str:
    """What values the schema accepts beyond the type: enums, ranges, keys, list rules."""
    if "oneOf" in schema:
        texts = [allowed_text(alt) or type_text(alt) for alt in schema["oneOf"]]
        return ", or ".join(texts)
    parts = []
    if "enum" in schema:
        parts.append(", ".join(code(value) for value in schema["enum"]))
    bounds = _range_text(schema)
    if bounds:
        described = type_text({"type": schema.get("type")})
        parts.append(f"{described} {bounds}" if "enum" in schema else bounds)
    items = schema.get("items")
    if isinstance(items, Mapping) and (items.get("enum") or _range_text(items)):
        parts.append(f"each {allowed_text(items)}")
    if schema.get("minItems"):
        count = schema["minItems"]
        parts.append(f"at least {count} item" + ("s" if count > 1 else ""))
    if schema.get("uniqueItems"):
        parts.append("no repeats")
    properties = schema.get("properties")
    if schema.get("type") == "object" or properties:
        if properties and schema.get("additionalProperties") is False:
            keys = ", ".join(f"`{key}`" for key in properties)
            inner = {allowed_text(p) for p in properties.values()}
            parts.append(f"keys {keys}" + (f", each {inner.pop()}" if len(inner) == 1 else ""))
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra.get("type") != "object":
            values = allowed_text(extra) or type_text(extra)
            parts.append(f"any keys; values {values}")
    return "; ".join(p for p in parts if p)


def described(key: str, schema: Mapping[str, Any]) -> str:
    text = schema.get("description")
    if not text:
        raise SchemaDocError(
            f"{SCHEMA}: {key} has no description; add one (docs/configuration.md shows it)"
        )
    return str(text)


# --- The page ----------------------------------------------------------------------------------


def _top_level(schema: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    rows = []
    for key, prop in schema["properties"].items():
        default = prop.get("default", NO_DEFAULT)
        if key == "feature_profiles":
            shown = "six profiles (below)"
        elif key == "augmentation":
            shown = code(default) + " (none)"
        else:
            if key in config and config[key] != default:
                raise SchemaDocError(
                    f"{key}: config.yaml says {config[key]!r}, the schema's default is "
                    f"{default!r}; make them agree"
                )
            shown = "—" if default is NO_DEFAULT else code(default)
        rows.append([f"`{key}`", type_text(prop), shown, allowed_text(prop), described(key, prop)])
    return table(["key", "type", "default", "allowed", "description"], rows)


def _augmentation(schema: Mapping[str, Any]) -> list[str]:
    block = schema["properties"]["augmentation"]
    required = set(block.get("required", []))
    rows = [
        [f"`{key}`", type_text(prop), "required" if key in required else "optional",
         allowed_text(prop), described(f"augmentation.{key}", prop)]
        for key, prop in block["properties"].items()
    ]  # fmt: skip
    entry = block["properties"]["pool"]["items"]
    entries = [
        [f"`{key}`", type_text(prop), described(f"augmentation.pool[].{key}", prop)]
        for key, prop in entry["properties"].items()
    ]
    return [
        "## Augmentation",
        "",
        cell(described("augmentation", block)),
        "",
        *table(["key", "type", "in the block", "allowed", "description"], rows),
        "",
        "### Pool entries",
        "",
        "Each entry of `pool` is a mapping with a `kind`; fraudprep checks the rest before any"
        " job starts ([augmentation.md](augmentation.md)).",
        "",
        *table(["key", "type", "description"], entries),
    ]


def profile_defaults() -> dict[str, Any]:
    """FeatureProfile's field defaults: what a key left out of a profile block becomes."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)  # this checkout's library, installed or not (as the Snakefile)
    from fraudprep.run.settings import FeatureProfile

    return {field.name: field.default for field in dataclasses.fields(FeatureProfile)}


def _profiles(
    schema: Mapping[str, Any], config: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[str]:
    block = schema["properties"]["feature_profiles"]
    keys = block["additionalProperties"]["properties"]
    if set(keys) != set(defaults):
        raise SchemaDocError(
            f"{SCHEMA}: the feature-profile keys differ from FeatureProfile's fields "
            f"(only in the schema: {sorted(set(keys) - set(defaults))}; only in FeatureProfile: "
            f"{sorted(set(defaults) - set(keys))}); make them the same"
        )
    rows = [
        [f"`{key}`", type_text(prop), code(defaults[key]), allowed_text(prop),
         described(f"feature_profiles.<model>.{key}", prop)]
        for key, prop in keys.items()
    ]  # fmt: skip
    shipped = config.get("feature_profiles") or {}
    unknown = sorted({key for values in shipped.values() for key in values} - set(keys))
    if unknown:
        raise SchemaDocError(f"{CONFIG}: profile keys the schema does not know: {unknown}")
    used = [key for key in keys if any(key in values for values in shipped.values())]
    ships = [
        [f"`{key}`", *(code(values[key]) if key in values else "" for values in shipped.values())]
        for key in used
    ]
    return [
        "## Feature profiles",
        "",
        cell(described("feature_profiles", block)),
        "",
        "Keys of each `feature_profiles.<model>` block. A key left out takes the default below.",
        "Some keys apply to one kind only, as their description says; `memory_mode` may lower",
        "`duration`, `n_mels`, `height` and `width` ([memory.md](memory.md)). What each kind",
        "computes: [outputs.md](outputs.md#what-a-sample-is).",
        "",
        *table(["key", "type", "default", "allowed", "description"], rows),
        "",
        "### The profiles config.yaml ships",
        "",
        "A blank cell is the default above.",
        "",
        *table(["key", *(f"`{name}`" for name in shipped)], ships),
    ]


def render(
    schema: Mapping[str, Any], config: Mapping[str, Any], defaults: Mapping[str, Any]
) -> str:
    """The whole page, from the parsed schema, config.yaml and the profile defaults."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from schemas/config.schema.yaml by tools/config_docs.py. Do not edit:",
        "     change the schema's descriptions, then run `make docs`. -->",
        "",
        INTRO,
        "",
        "## Top-level keys",
        "",
        *_top_level(schema, config),
        "",
        *_augmentation(schema),
        "",
        *_profiles(schema, config, defaults),
    ]
    text = "\n".join(lines) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def generate(root: Path = ROOT) -> str:
    """docs/configuration.md as it should be now, from the files under ``root``."""
    schema = yaml.safe_load((root / SCHEMA).read_text(encoding="utf-8"))
    config = yaml.safe_load((root / CONFIG).read_text(encoding="utf-8")) or {}
    return render(schema, config, profile_defaults())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is stale")
    args = parser.parse_args(argv)
    try:
        text = generate()
    except SchemaDocError as error:
        print(f"config_docs: {error}", file=sys.stderr)
        return 1
    path = ROOT / OUTPUT
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        if current != text:
            print(f"config_docs: {OUTPUT} is stale; run `make docs`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        path.write_text(text, encoding="utf-8")
        print(f"config_docs: wrote {OUTPUT}")
    else:
        print(f"config_docs: {OUTPUT} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
