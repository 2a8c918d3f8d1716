"""Run renderkit as a user does: a subprocess with its own environment, waited for; --json checked on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from renderkit.manifest.schema import schema_text

KEY = "sk-cli-test-key-0123456789"  # what the builds send; no output may show it


@dataclass(frozen=True)
class Run:
    """One finished command."""

    code: int
    out: str
    err: str

    @property
    def doc(self) -> dict[str, Any]:
        """The --json document: all of stdout, one JSON object."""
        doc: dict[str, Any] = json.loads(self.out)
        return doc


def renderkit(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, umask: int | None = None, timeout: float = 120
) -> Run:
    """``renderkit ARGS`` in ``cwd``; the simulator key is set, renderkit's own variables are not inherited."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RENDERKIT_")}
    environ.update({"SIM_API_KEY": KEY, **(env or {})})
    proc = subprocess.run(
        [sys.executable, "-m", "renderkit", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=None if umask is None else _with_umask(umask),
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert KEY not in proc.stdout + proc.stderr
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _with_umask(mask: int) -> Any:
    def set_mask() -> None:
        os.umask(mask)

    return set_mask


@cache
def _output_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text("output"))
    return schema


def check_document(doc: dict[str, Any], kind: str) -> None:
    """``doc`` is a valid ``kind`` document of the packaged output schema (and of the schema as a whole)."""
    schema = _output_schema()
    jsonschema.validate(doc, {**schema, "oneOf": [{"$ref": f"#/$defs/{kind}"}]})
    jsonschema.validate(doc, schema)
