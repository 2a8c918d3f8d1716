"""Machines of a team as project folders: each clone has the manifest and the lock (as git gives them), its own
cache, and the outputs only when they were committed or restored."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.builds.helpers import build
from tests.fixtures.project import Project


class Clones:
    """Project folders under one temp directory, each standing for another machine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0

    def _folder(self) -> Project:
        self._count += 1
        folder = self.root / f"machine{self._count}"
        folder.mkdir(parents=True)
        return Project(folder)

    def new(self, manifest: str) -> Project:
        """A fresh project holding ``manifest``."""
        project = self._folder()
        project.gen({"renderkit.yaml": manifest})
        return project

    def clone(self, source: Project, *, outputs: bool = False, lock: bool = True) -> Project:
        """Another machine's checkout of ``source``: the manifest, the lock, and the outputs if committed."""
        project = self._folder()
        shutil.copy(source.path("renderkit.yaml"), project.path("renderkit.yaml"))
        if lock and source.path("renderkit.lock").exists():
            shutil.copy(source.path("renderkit.lock"), project.path("renderkit.lock"))
        if outputs:
            shutil.copytree(source.path("renders"), project.path("renders"))
        return project


def build_json(project: Project, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """`renderkit build --json` in ``project``: (exit code, report or None, stderr)."""
    return build(project, capsys, *args)
