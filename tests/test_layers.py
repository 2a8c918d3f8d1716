"""The import direction of the pipeline: each package imports only the packages below it.

    cli → ops → plan | execute → manifest | store | providers → request → catalog → errors

``execute`` never imports ``plan`` or ``manifest``; ``simulator`` imports nothing else of renderkit (it stands
in for a remote provider); ``providers`` speak HTTP through httpx alone (and read its CA bundle, certifi). Every
import counts, including those inside functions, since a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import renderkit

PACKAGE = Path(renderkit.__file__).parent
BASE = {"errors"}
# Which parts of renderkit each part may import (besides itself), and which third-party libraries.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "catalog": BASE,
    "request": BASE | {"catalog"},
    "manifest": BASE | {"catalog", "request", "store"},
    "store": BASE | {"request"},
    "providers": BASE | {"catalog", "request"},
    "plan": BASE | {"catalog", "request", "manifest", "store"},
    "execute": BASE | {"catalog", "request", "store", "providers"},
    "ops": BASE | {"catalog", "request", "manifest", "store", "providers", "plan", "execute", "simulator", "version"},
    "simulator": set(),
    "cli": BASE
    | {"catalog", "request", "manifest", "store", "providers", "plan", "execute", "ops", "simulator"}
    | {"version"},
    "__main__": {"cli"},
}
LIBRARIES: dict[str, set[str]] = {
    "errors": set(),
    "catalog": set(),
    "request": {"rfc8785"},
    "manifest": {"yaml", "PIL"},
    "store": {"diskcache", "filelock", "obstore"},
    "providers": {"httpx", "certifi"},
    "plan": {"rfc8785"},
    "execute": {"anyio", "av", "PIL"},
    "ops": {"anyio", "httpx", "httpcore", "filelock"},
    "simulator": {"starlette", "uvicorn", "httpx", "av", "PIL", "multipart"},
    "cli": {"rich", "shtab", "argcomplete"},
    "__main__": set(),
}


def part_of(module: str) -> str:
    """The top-level part of renderkit a module belongs to (``renderkit.plan.keys`` -> ``plan``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "version"


def imports(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import statement in ``source``, wherever it is."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            yield node.lineno, base
            if base == "renderkit":
                for alias in node.names:  # ``from renderkit import x`` names a part (or __version__)
                    yield node.lineno, f"renderkit.{alias.name}" if alias.name != "__version__" else "renderkit"


def violations(source: str, module: str) -> list[str]:
    """Every import in ``module`` that crosses the layering the wrong way."""
    me = part_of(module)
    out = []
    for line, name in imports(source, module):
        if name == "__future__" or name.split(".")[0] in sys.stdlib_module_names:
            continue
        if name.split(".")[0] == "renderkit":
            target = part_of(name)
            if target != me and target not in ALLOWED[me]:
                out.append(f"{module}:{line}: {me} must not import {name} ({target})")
        elif name.split(".")[0] not in LIBRARIES[me]:
            out.append(f"{module}:{line}: {me} must not import the library {name}")
    return out


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        if name != "renderkit":
            yield name, path


def test_every_module_respects_the_layers() -> None:
    found = [v for name, path in modules() for v in violations(path.read_text(encoding="utf-8"), name)]
    assert found == []
    assert len(list(modules())) > 60


def test_the_check_catches_an_upward_import() -> None:
    assert violations("from renderkit.plan.plan import make_plan\n", "renderkit.providers.fake") == [
        "renderkit.providers.fake:1: providers must not import renderkit.plan.plan (plan)"
    ]
    assert violations("def f():\n    import renderkit.manifest.load\n", "renderkit.execute.fake") == [
        "renderkit.execute.fake:2: execute must not import renderkit.manifest.load (manifest)"
    ]
    assert violations("from renderkit.providers import base\n", "renderkit.simulator.fake") != []
    assert violations("import anyio\n", "renderkit.manifest.fake") == [
        "renderkit.manifest.fake:1: manifest must not import the library anyio"
    ]
    assert violations("from . import model\n", "renderkit.manifest.fake") == []
