"""Storyboards: one task where the family takes a native storyboard, shot by shot and stitched elsewhere."""

from __future__ import annotations

import pytest

from renderkit.simulator import Simulator
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, build, check_mp4, manifest_text, statuses
from tests.fixtures.project import Project

SHOTS = ["Wide shot of a forest at dawn", "A deer walks into frame", "Close-up of the deer looking at camera"]


def storyboard_manifest(sim: Simulator, kind: str, shots: list[str]) -> str:
    text = manifest_text(sim, [("other", "A second, plain scene")], kind=kind).replace("  seconds: 4\n", "")
    board = "".join(f"      - prompt: {p!r}\n        seconds: 4\n" for p in shots)
    return text.replace("scenes:\n", f"scenes:\n  - id: forest\n    storyboard:\n{board}", 1)


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


@pytest.mark.parametrize(("kind", "creates"), [("simulator", 1), ("unified", 3)])
def test_storyboard_yields_one_video_as_long_as_its_shots(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], kind: str, creates: int
) -> None:
    project.gen({"renderkit.yaml": storyboard_manifest(simulator, kind, SHOTS)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"forest": "rendered", "other": "rendered"}
    check_mp4(project.path("renders/forest.mp4"), "1280x720", 12)
    assert simulator.ledger()["creates"] == creates + 1
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert lock.entries["forest"].seconds == 12
    assert len(lock.entries["forest"].shots) == (3 if kind == "unified" else 0)


@pytest.mark.parametrize("kind", ["simulator", "unified"])
def test_editing_one_shot_pays_exactly_one_create(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    project.gen({"renderkit.yaml": storyboard_manifest(simulator, kind, SHOTS)})
    assert build(project, capsys)[0] == 0
    before = simulator.ledger()["creates"]
    edited = [SHOTS[0], "A fox walks into frame", SHOTS[2]]
    project.gen({"renderkit.yaml": storyboard_manifest(simulator, kind, edited)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"forest": "rendered", "other": "cached"}
    assert simulator.ledger()["creates"] == before + 1
    check_mp4(project.path("renders/forest.mp4"), "1280x720", 12)


def test_a_failed_shot_keeps_the_finished_ones(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:fail:@2")
    project.gen({"renderkit.yaml": storyboard_manifest(simulator, "unified", SHOTS)})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 1
    assert statuses(report)["forest"] == "failed"
    assert "shot" in err
    simulator.clear_faults()
    before = simulator.ledger()["creates"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report)["forest"] == "rendered"
    assert simulator.ledger()["creates"] == before + 1, "only the failed shot is rendered again"


def test_shared_shots_and_identical_storyboards_are_paid_once(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = storyboard_manifest(simulator, "unified", SHOTS)
    twin = "".join(f"      - prompt: {p!r}\n        seconds: 4\n" for p in SHOTS)
    cousin = "".join(f"      - prompt: {p!r}\n        seconds: 4\n" for p in [SHOTS[0], "A bear wanders past"])
    text = text.replace(
        "scenes:\n", f"scenes:\n  - id: twin\n    storyboard:\n{twin}  - id: cousin\n    storyboard:\n{cousin}", 1
    )
    project.gen({"renderkit.yaml": text})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == dict.fromkeys(("forest", "twin", "cousin", "other"), "rendered")
    assert simulator.ledger()["creates"] == 3 + 1 + 1, "three shots, the cousin's new shot, and the plain scene"
    assert project.path("renders/forest.mp4").read_bytes() == project.path("renders/twin.mp4").read_bytes()
    check_mp4(project.path("renders/cousin.mp4"), "1280x720", 8)
