"""Helpers for build tests: write a manifest that points at a simulator, run the CLI, read the ledger."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from renderkit.cli import main
from renderkit.execute.video import Mp4Problem, probe_mp4
from renderkit.simulator import Simulator
from tests.fixtures.project import Project

KEY = "sk-test-secret-value-0123456789"


def manifest_text(
    sim: Simulator,
    scenes: Sequence[tuple[str, str]],
    *,
    kind: str = "simulator",
    extra: str = "",
    provider_extra: str = "",
    seconds: int = 4,
) -> str:
    """A manifest with one provider of ``kind`` at the simulator and one scene per (id, prompt)."""
    lines = [
        "version: 1",
        "providers:",
        "  main:",
        f"    kind: {kind}",
        f"    base_url: {sim.base_url}",
        "    api_key_env: SIM_API_KEY",
        "    poll_interval: 0.05",
        *[f"    {line}" for line in provider_extra.splitlines() if line],
        "defaults:",
        "  provider: main",
        "  model: sora-2",
        "  size: 1280x720",
        f"  seconds: {seconds}",
        *extra.splitlines(),
        "scenes:",
    ]
    for scene_id, prompt in scenes:
        lines += [f"  - id: {scene_id}", f"    prompt: {json.dumps(prompt)}"]
    return "\n".join(lines) + "\n"


def build(project: Project, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run `renderkit build <project>/renderkit.yaml --json ARGS`; return (exit code, report, stderr)."""
    code = main(["build", str(project.path("renderkit.yaml")), "--json", *args])
    captured = capsys.readouterr()
    report = json.loads(captured.out) if captured.out.strip() else None
    return code, report, captured.err


def stopped(report: dict[str, Any] | None, code: int) -> str:
    """The error type of a build that stopped with no scene report: --json then holds only the error document."""
    assert report is not None, "--json writes an error document on every non-zero exit"
    assert "scenes" not in report
    assert report["exit_code"] == code
    kind: str = report["error"]["type"]
    return kind


def statuses(report: dict[str, Any] | None) -> dict[str, str]:
    """Scene id → status from a --json report."""
    assert report is not None
    return {s["id"]: s["status"] for s in report["scenes"]}


SCENES = [("intro", "A paper boat on a rainy street"), ("skyline", "A city skyline at dusk"), ("outro", "Credits")]


def check_mp4(path: Path, size: str, seconds: int) -> None:
    """Decode every frame, as a build does; Mp4Problem on a decode error, a wrong frame size or duration."""
    problem = probe_mp4(path).differs(size, seconds)
    if problem is not None:
        raise Mp4Problem(problem)
