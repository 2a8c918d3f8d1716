"""The public API's export list matches its public names, and every name loads from the module it names."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import renderkit


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert list(renderkit.__all__) == sorted(renderkit.__all__)
    assert set(renderkit.__all__) == {*renderkit._HOMES, "__version__"}
    for name, home in renderkit._HOMES.items():
        assert getattr(renderkit, name) is getattr(importlib.import_module(home), name)
    assert set(renderkit.__all__) <= set(dir(renderkit))


def test_type_checking_imports_agree_with_the_lazy_table() -> None:
    tree = ast.parse(Path(renderkit.__file__).read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If))
    imported = {a.asname or a.name: n.module for n in guarded.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert imported == renderkit._HOMES


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nothing_here"):
        getattr(renderkit, "nothing_here")  # noqa: B009  # a name mypy knows is missing


def test_importing_the_package_and_the_manifest_layer_loads_no_heavy_library() -> None:
    code = (
        "import sys, renderkit, renderkit.manifest.load, renderkit.plan.plan, renderkit.store.memo; "
        "print(sorted(m for m in ('anyio', 'httpx', 'av', 'PIL', 'diskcache', 'jsonschema') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_a_build_that_talks_http_does_not_load_httpxs_command_line_client() -> None:
    code = (
        "import sys, renderkit.providers.registry, renderkit.ops.connect, httpx; "
        "print(sorted(m for m in ('rich', 'click', 'pygments') if m in sys.modules), callable(httpx.main))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[] True"
