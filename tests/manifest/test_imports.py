"""Loading and planning stay light: their modules import no network, async, video or jsonschema library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import renderkit

PACKAGE = Path(renderkit.__file__).parent


def imported_by(module: str, seen: set[str]) -> set[str]:
    """Top-level names of every library imported at module level by ``module`` and the renderkit modules it uses."""
    if module in seen:
        return set()
    seen.add(module)
    base = PACKAGE.joinpath(*module.split(".")[1:])
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not path.is_file():
        return set()  # a name imported from a package, not a module
    libraries: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            if name.startswith("renderkit."):
                libraries |= imported_by(name, seen)
            elif name != "renderkit":
                libraries.add(name.split(".")[0])
    return libraries


def test_manifest_and_plan_import_only_yaml_rfc8785_and_the_standard_library() -> None:
    libraries = imported_by("renderkit.manifest.load", set()) | imported_by("renderkit.plan.plan", set())
    third_party = {name for name in libraries if name not in sys.stdlib_module_names and name != "__future__"}
    assert third_party == {"yaml", "rfc8785"}
