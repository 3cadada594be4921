"""The documentation stays true to the tree: the generated configuration reference matches the
schema, every relative link (and its #anchor) leads somewhere, and the README stays a short
front page whose first commands are the Makefile's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers import REPO

from tools import config_docs

PAGES = sorted(
    [REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")],
    key=lambda path: path.relative_to(REPO).as_posix(),
)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """Markdown without code blocks and code spans, where links are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # repeated headings get -1, -2, ...
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def test_configuration_reference_is_current():
    expected = config_docs.generate(REPO)
    path = REPO / config_docs.OUTPUT
    assert path.exists(), f"{config_docs.OUTPUT} is missing: run `make docs`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{config_docs.OUTPUT} is stale (schemas/config.schema.yaml, config.yaml or the "
        "feature-profile defaults changed): run `make docs`"
    )


def test_every_schema_key_is_in_the_reference():
    text = (REPO / config_docs.OUTPUT).read_text(encoding="utf-8")
    schema = yaml.safe_load((REPO / config_docs.SCHEMA).read_text(encoding="utf-8"))
    keys = list(schema["properties"])
    keys += list(schema["properties"]["feature_profiles"]["additionalProperties"]["properties"])
    keys += list(schema["properties"]["augmentation"]["properties"])
    missing = [key for key in keys if f"| `{key}` |" not in text]
    assert not missing, f"keys without a row in {config_docs.OUTPUT}: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_lead_to_existing_files_and_anchors(page: Path):
    if not page.exists():
        pytest.skip(f"{page.name} does not exist")
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target} (no heading with that anchor)")
    assert not broken, f"{page.relative_to(REPO)}: broken links: {broken}"


def test_the_link_checker_sees_links_and_skips_code():
    text = "[a](docs/x.md#y) `[b](c.md)`\n```\n[d](e.md)\n```\n[r]: ../f.md\n"
    assert links(text) == ["docs/x.md#y", "../f.md"]
    assert slug("The seed's layout") == "the-seeds-layout"
    assert slug("`dataset_stats`") == "dataset_stats"


def test_readme_is_a_short_front_page_with_the_makefiles_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "README.md is a front page: details go to docs/"
    first_block = FENCE.search(readme)
    assert first_block and readme.index(first_block.group(0)) < 200, "commands come first"
    commands = [line.split("#")[0].strip() for line in first_block.group(0).splitlines()[1:-1]]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test", "docs"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no {target} target"


def test_every_config_example_in_the_docs_is_valid():
    """Each YAML block of README and docs that sets config keys passes the schema check with
    config.yaml's other keys, and its corpora parse: an example a user copies must run."""
    from fraudprep.base.config_check import check_config
    from fraudprep.inputs.corpora import source_config

    defaults = yaml.safe_load((REPO / "config.yaml").read_text())
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    checked = 0
    for page in PAGES:
        for block in re.findall(r"^```yaml\n(.*?)^```", page.read_text(), re.S | re.M):
            example = yaml.safe_load(block)
            if not isinstance(example, dict) or not set(example) <= set(schema["properties"]):
                continue  # not a config (a pool entry, a profile's keys alone, ...)
            check_config({**defaults, **example}, REPO / "schemas" / "config.schema.yaml")
            if "corpora" in example:
                source_config({**defaults, **example})
            checked += 1
    assert checked >= 2
