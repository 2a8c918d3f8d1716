"""The plan shows the render graph: what waits on what, and which shots of an emulated storyboard render."""

from __future__ import annotations

import json
from typing import Any

import pytest

from renderkit.cli import main
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, check_mp4, manifest_text
from tests.builds.test_storyboard import SHOTS, storyboard_manifest
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def plan(project: Project, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The --json scenes by id, and the human table's lines."""
    assert main(["plan", str(project.path("renderkit.yaml")), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    return {s["id"]: s for s in doc["scenes"]}, captured.err.splitlines()


def test_plan_shows_what_each_scene_waits_on(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = manifest_text(simulator, [("a", "A harbour"), ("b", "Boats leave"), ("c", "Open sea"), ("d", "Night")])
    text = text.replace("  - id: b\n", "  - id: b\n    continue_from: a\n")
    text = text.replace("  - id: c\n", "  - id: c\n    extend_of: b\n")
    text = text.replace("  - id: d\n", "  - id: d\n    remix_of: c\n")
    project.gen({"renderkit.yaml": text})
    scenes, lines = plan(project, capsys)
    assert [(s, scenes[s]["depends_on"], scenes[s]["status"]) for s in "abcd"] == [
        ("a", [], "render"),
        ("b", ["a"], "blocked"),
        ("c", ["b"], "blocked"),
        ("d", ["c"], "blocked"),
    ]
    assert lines[0].split() == ["STATUS", "SCENE", "WAITS", "ON", "COST", "REASON"]
    assert lines[2].split()[:5] == ["blocked", "b", "a", "(continue_from)", "$0.40"]
    assert lines[3].split()[:5] == ["blocked", "c", "b", "(extend_of)", "$0.40"]
    # A remix of a 4 s scene extended by 4 s remakes all 8 seconds.
    assert lines[4].split()[:5] == ["blocked", "d", "c", "(remix_of)", "$0.80"]
    assert lines[-1] == "4 to render, 0 cached; estimated cost $2.00"
    code, _, err = build(project, capsys)
    assert code == 0, err
    check_mp4(project.path("renders/d.mp4"), "1280x720", 8)
    assert simulator.ledger()["paid_seconds"] == 4 + 4 + 4 + 8


def test_plan_charges_only_the_shots_that_render(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": storyboard_manifest(simulator, "unified", SHOTS)})
    scenes, _ = plan(project, capsys)
    assert scenes["forest"]["cost_usd"] == 1.2
    assert build(project, capsys)[0] == 0
    edited = [SHOTS[0], "A fox walks into frame", SHOTS[2]]
    project.gen({"renderkit.yaml": storyboard_manifest(simulator, "unified", edited)})
    scenes, lines = plan(project, capsys)
    forest = scenes["forest"]
    assert (forest["status"], forest["cost_usd"]) == ("render", 0.4)
    assert [s["status"] for s in forest["shots"]] == ["cached", "render", "cached"]
    assert [s["cost_usd"] for s in forest["shots"]] == [0.4, 0.4, 0.4]
    assert scenes["other"]["shots"] is None
    row = next(line for line in lines if " forest " in line)
    assert row.endswith("storyboard changed; 1 of 3 shots render, 2 cached")
    assert lines[-1] == "1 to render, 1 cached; estimated cost $0.40"
