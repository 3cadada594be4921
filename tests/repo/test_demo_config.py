"""The demo's settings are in config-demo.yaml, and every command after `make demo` in the
README and docs/ that runs the workflow on the demo uses them; the Makefile's demo listing is
the one config-demo.yaml names."""

from __future__ import annotations

import re

import yaml
from helpers import REPO

DEMO_CONFIG = "config-demo.yaml"


def makefile_variable(name: str) -> str:
    text = (REPO / "Makefile").read_text()
    values = dict(re.findall(r"^(\w+) :?= (.*)$", text, re.MULTILINE))
    return re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], values[name])


def test_the_demo_config_names_the_listing_make_demo_data_writes():
    demo = yaml.safe_load((REPO / DEMO_CONFIG).read_text())
    assert demo == {"dataset": "csv", "listing": makefile_variable("DEMO_LISTING")}
    assert makefile_variable("DEMO_CONFIG") == DEMO_CONFIG
    # config.yaml stays the one for your own folder: no listing by default.
    assert yaml.safe_load((REPO / "config.yaml").read_text())["listing"] == ""


def workflow_commands(text: str) -> list[str]:
    """Every `snakemake --cores`, `fraudprep run` or `--report` command in a Markdown text (an
    inline one may go on at the next line's start)."""
    text = re.sub(r"\n(?=--)", " ", text)
    return re.findall(r"(?:snakemake (?:--cores|--configfile)|fraudprep run -)[^`\n]*", text)


def test_every_demo_command_in_the_docs_uses_the_demo_config():
    """A command that runs the workflow either names its input (input_dir, listing, dataset,
    corpora: your own data) or is a command on the demo, and then takes config-demo.yaml."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        if page.name in ("performance.md", "configuration.md"):
            continue  # the bench's own runs; the generated key reference
        for command in workflow_commands(page.read_text()):
            if re.search(r"\b(input_dir|listing|dataset|corpora)=", command):
                continue
            if "--config ..." in command or "--lint" in command:
                continue
            checked += 1
            assert f"--configfile {DEMO_CONFIG}" in command, f"{page.name}: {command}"
    assert checked >= 4
