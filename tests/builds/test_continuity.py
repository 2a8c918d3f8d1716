"""Continuity: a scene with continue_from starts from the last frame of another scene's video."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from renderkit.catalog.kinds import KINDS
from renderkit.cli import main
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, manifest_text, statuses
from tests.fixtures.project import Project

GREEN = (40, 220, 60)
# The simulator draws each prompt on a black band a quarter of the way down the frame. B's prompt wraps to three
# lines and C's fits on one, so B's second and third lines stay visible in C's frames only if C started from B.
B_LINES = (250, 350)
# Below every band and above the stamp: the picture a render started from shows through here.
BELOW = (400, 600)
LONG = "The boat drifts under a stone bridge while the evening lights come on one by one along the quay and the river"


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(out, format="PNG")
    return out.getvalue()


def chain(sim: Simulator, kind: str = "simulator", c_prompt: str = "Night falls") -> str:
    """A (from a green picture) -> B -> C, each continuing from the one before."""
    text = manifest_text(sim, [("a", "A boat"), ("b", LONG), ("c", c_prompt)], kind=kind)
    text = text.replace('  - id: a\n    prompt: "A boat"\n', '  - id: a\n    prompt: "A boat"\n    image: green.png\n')
    text = text.replace("  - id: b\n", "  - id: b\n    continue_from: a\n")
    return text.replace("  - id: c\n", "  - id: c\n    continue_from: b\n")


def frames(video: Path) -> tuple[Image.Image, Image.Image]:
    """The first and the last frame."""
    with av.open(str(video)) as container:
        decoded: list[Any] = list(container.decode(video=0))
    return decoded[0].to_image(), decoded[-1].to_image()


def diff(a: Image.Image, b: Image.Image, rows: tuple[int, int]) -> float:
    """Mean absolute difference per channel over the full-width band of ``rows``."""
    box = (0, rows[0], a.width, rows[1])
    return sum(ImageStat.Stat(ImageChops.difference(a.crop(box), b.crop(box))).mean) / 3


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def plan(project: Project, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str]]:
    assert main(["plan", str(project.path("renderkit.yaml")), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    return {s["id"]: (s["status"], s["reason"]) for s in doc["scenes"]}


def test_each_scene_starts_from_the_last_frame_of_its_upstream(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": chain(simulator), "green.png": png(GREEN)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"a": "rendered", "b": "rendered", "c": "rendered"}
    assert simulator.ledger()["creates"] == 3
    a_first, a_last = frames(project.path("renders/a.mp4"))
    b_first, b_last = frames(project.path("renders/b.mp4"))
    c_first, _ = frames(project.path("renders/c.mp4"))
    # B shows A's picture where B draws nothing of its own; a B rendered from its prompt alone would not.
    assert diff(b_first, a_last, BELOW) < 4
    # C shows B's last frame, text included, where neither C nor A drew anything.
    assert diff(c_first, b_last, B_LINES) < 4
    assert diff(c_first, a_last, B_LINES) > 40
    assert diff(a_first, a_last, B_LINES) < 4, "A's frames differ there only by noise"


def test_editing_the_first_scene_re_renders_the_chain(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": chain(simulator), "green.png": png(GREEN)})
    assert build(project, capsys)[0] == 0
    project.gen({"renderkit.yaml": chain(simulator).replace('"A boat"', '"A red boat"')})
    assert plan(project, capsys) == {
        "a": ("render", "prompt changed"),
        "b": ("blocked", "upstream a re-renders"),
        "c": ("blocked", "upstream b re-renders"),
    }
    before = simulator.ledger()["creates"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"a": "rendered", "b": "rendered", "c": "rendered"}
    assert simulator.ledger()["creates"] == before + 3


def test_forcing_the_first_scene_leaves_the_scenes_after_it_cached(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": chain(simulator), "green.png": png(GREEN)})
    assert build(project, capsys)[0] == 0
    code, report, err = build(project, capsys, "--force", "a")
    assert code == 0, err
    assert statuses(report) == {"a": "rendered", "b": "cached", "c": "cached"}
    assert simulator.ledger()["creates"] == 4


def test_editing_the_last_scene_pays_one_create_and_starts_from_the_cached_upstream(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": chain(simulator), "green.png": png(GREEN)})
    assert build(project, capsys)[0] == 0
    project.gen({"renderkit.yaml": chain(simulator, c_prompt="Dawn")})
    assert plan(project, capsys) == {
        "a": ("cached", "unchanged"),
        "b": ("cached", "unchanged"),
        "c": ("render", "prompt changed"),
    }
    before = simulator.ledger()["creates"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"a": "cached", "b": "cached", "c": "rendered"}
    assert simulator.ledger()["creates"] == before + 1
    _, b_last = frames(project.path("renders/b.mp4"))
    c_first, _ = frames(project.path("renders/c.mp4"))
    assert diff(c_first, b_last, B_LINES) < 4


def test_continuity_on_a_family_that_takes_image_urls_only_fails_at_validate_time(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = chain(simulator, kind="unified").replace("    image: green.png\n", "")
    project.gen({"renderkit.yaml": text})
    code, _, err = build(project, capsys)
    assert code == 2
    assert "renderkit.yaml:17:20: scenes[1].continue_from: provider 'main' (kind unified) takes image URLs" in err
    assert project.files() == {"renderkit.yaml"}
    assert simulator.ledger()["requests"] == {}


@pytest.mark.parametrize(("native", "creates", "shots"), [(True, 3, None), (False, 4, ["render", "cached"])])
def test_a_storyboard_starts_its_first_shot_from_the_upstream_frame(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    native: bool,
    creates: int,
    shots: list[str] | None,
) -> None:
    if not native:
        # No shipped kind both takes image files and lacks a native storyboard, so make the simulator kind one.
        monkeypatch.setitem(KINDS, "simulator", replace(KINDS["simulator"], storyboard=False))
    text = chain(simulator).replace('    prompt: "Night falls"\n', "    storyboard:\n").replace("  seconds: 4\n", "")
    text += "      - {prompt: Night falls, seconds: 4}\n      - {prompt: Stars come out, seconds: 4}\n"
    project.gen({"renderkit.yaml": text, "green.png": png(GREEN)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report)["c"] == "rendered"
    assert simulator.ledger()["creates"] == creates
    _, b_last = frames(project.path("renders/b.mp4"))
    c_first, _ = frames(project.path("renders/c.mp4"))
    assert diff(c_first, b_last, B_LINES) < 4
    # A new B changes the frame C starts from: shot by shot, only the first shot renders again.
    project.gen({"renderkit.yaml": text.replace("one by one", "two by two")})
    assert main(["plan", str(project.path("renderkit.yaml")), "--json"]) == 0
    c = json.loads(capsys.readouterr().out)["scenes"][2]
    assert (c["id"], c["status"]) == ("c", "blocked")
    assert (c["shots"] and [s["status"] for s in c["shots"]]) == shots
    before = simulator.ledger()["creates"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == before + 2
