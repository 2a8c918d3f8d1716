"""Fixtures for manifest tests: a guard that fails on any network connection."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from renderkit.manifest.model import Manifest
from renderkit.request import UPSTREAM
from tests.fixtures.project import Project

PNG = (Path(__file__).parent / "ok.png").read_bytes()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any attempt to open a connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a network connection was attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def here(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The project directory, as the working directory."""
    monkeypatch.chdir(project.root)
    return project


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path below ``root`` with its size and mtime, to prove nothing was written."""
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def flat_scenes(manifest: Manifest) -> list[SimpleNamespace]:
    """Each scene's fields as the manifest writes them: its request's, and the upstream under its link's name."""
    out = []
    for scene in manifest.scenes:
        request = scene.request
        links = {name: scene.upstream if scene.link == name else None for name in UPSTREAM}
        out.append(
            SimpleNamespace(
                id=scene.id,
                provider=scene.provider,
                prompt=request.prompt,
                model=request.model,
                size=request.size,
                seconds=request.seconds,
                take=request.take,
                image=request.image,
                storyboard=request.storyboard,
                duration=scene.duration,
                line=scene.line,
                **links,
            )
        )
    return out
