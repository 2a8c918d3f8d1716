"""The simulator package's export list matches its lazy table, and reading its config loads no server."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import renderkit.simulator


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert list(renderkit.simulator.__all__) == sorted(renderkit.simulator.__all__)
    assert set(renderkit.simulator.__all__) == set(renderkit.simulator._HOMES)
    for name, home in renderkit.simulator._HOMES.items():
        assert getattr(renderkit.simulator, name) is getattr(importlib.import_module(home), name)
    tree = ast.parse(Path(renderkit.simulator.__file__).read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If))
    imported = {a.asname or a.name: n.module for n in guarded.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert imported == renderkit.simulator._HOMES


def test_the_command_line_loads_no_server_to_show_its_version() -> None:
    code = (
        "import sys; from renderkit.cli import main; code = main(['--version']); "
        "print(sorted(m for m in ('anyio', 'httpx', 'av', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_the_simulator_never_imports_the_provider_adapters() -> None:
    root = Path(renderkit.simulator.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("renderkit.providers"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("renderkit.providers") for a in node.names), path
