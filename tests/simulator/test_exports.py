"""The simulator package's export list matches its public names."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import renderkit.simulator


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(renderkit.simulator).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert list(renderkit.simulator.__all__) == sorted(renderkit.simulator.__all__)
    assert set(renderkit.simulator.__all__) == public


def test_the_simulator_never_imports_the_provider_adapters() -> None:
    root = Path(renderkit.simulator.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("renderkit.providers"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("renderkit.providers") for a in node.names), path
