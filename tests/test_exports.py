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


def _loaded(imports: str, watched: tuple[str, ...], then: str = "pass") -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after ``import {imports}`` and running ``then``."""
    code = f"import sys, {imports}; {then}; print(sorted(m for m in {watched!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded: list[str] = ast.literal_eval(out.stdout.strip())
    return loaded


def test_importing_the_package_and_the_manifest_layer_loads_no_heavy_library() -> None:
    layers = "renderkit, renderkit.manifest.load, renderkit.plan.plan, renderkit.store.memo"
    assert _loaded(layers, ("anyio", "httpx", "av", "PIL", "diskcache", "jsonschema")) == []


def test_a_build_loads_no_module_it_only_needs_off_its_common_path() -> None:
    # A no-op build at 1,000 scenes takes about 0.27 s; each of these cost it 2-8 ms of imports for nothing.
    unneeded = ("zipfile", "shutil", "bz2", "lzma", "importlib.resources", "logging", "concurrent.futures", "secrets")
    modules = "renderkit.cli.app, renderkit.cli.build, renderkit.ops.build"
    assert _loaded(modules, unneeded, then="renderkit.cli.app._parser('build')") == []
