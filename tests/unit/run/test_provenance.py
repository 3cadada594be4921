"""run/provenance.py: the code version of the extraction's records covers every module that
decides what the extraction writes."""

from __future__ import annotations

import ast
from pathlib import Path

import fraudprep
from fraudprep.run.provenance import FEATURE_MODULES

# The modules the extraction imports that cannot change what it writes, and why.
NOT_DECIDING_FEATURES = {
    "base.atomic": "how files are written, not what",
    "base.logs": "log lines",
    "base.memory": "memory checks and messages",
    "base.processes": "process checks",
    "inputs.manifest": "the manifest step's own code: its output is the extraction's input",
}


def imported_fraudprep_modules(module: str) -> set[str]:
    """The fraudprep modules ``module`` imports, at the top or inside functions."""
    package = Path(fraudprep.__file__).parent / module.replace(".", "/")
    path = package.with_suffix(".py")
    sources = [path] if path.exists() else sorted(package.rglob("*.py"))
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found |= {
                name.removeprefix("fraudprep.") for name in names if name.startswith("fraudprep.")
            }
    return found


def counted_in(module: str, listed: tuple[str, ...]) -> bool:
    """Whether ``module``'s source is in the code version of ``listed``: it is listed, or lies
    inside a listed package (every file of a package counts, provenance._module_sources)."""
    return any(module == name or module.startswith(f"{name}.") for name in listed)


def test_a_module_inside_a_listed_package_is_counted_and_a_namesake_is_not():
    listed = ("extraction.augment", "base.formats")
    assert counted_in("extraction.augment", listed)
    assert counted_in("extraction.augment.registry", listed)
    assert counted_in("extraction.augment.kinds.codec", listed)
    assert not counted_in("extraction.augmentation", listed)  # a prefix of the name only
    assert not counted_in("extraction", listed)  # the package around a listed one


def test_every_module_the_extraction_runs_counts_in_its_code_version():
    """A new version of any module that decides what the extraction writes reruns it: the
    modules it imports, all the way down, are in FEATURE_MODULES or inside a package listed
    there (energy.py was once missed)."""
    seen: set[str] = set()
    waiting = ["extraction.extract"]
    while waiting:
        module = waiting.pop()
        if module not in seen:
            seen.add(module)
            waiting.extend(imported_fraudprep_modules(module))
    uncounted = {module for module in seen if not counted_in(module, FEATURE_MODULES)}
    assert uncounted <= set(NOT_DECIDING_FEATURES), uncounted - set(NOT_DECIDING_FEATURES)
    # The walk reaches into the packages (absolute imports between their modules): a test that
    # saw only the package names would pass over what their modules import.
    assert "extraction.augment.registry" in seen
