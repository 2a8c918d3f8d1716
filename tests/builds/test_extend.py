"""Extensions: a scene with extend_of continues another scene's video; the output is the whole, longer video."""

from __future__ import annotations

import pytest

from renderkit.execute.video import Mp4Problem
from renderkit.simulator import Simulator
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, build, check_mp4, manifest_text, statuses
from tests.fixtures.project import Project


def extension(sim: Simulator, kind: str = "simulator", prompt: str = "The boat sails out to sea") -> str:
    text = manifest_text(sim, [("harbour", "A boat in a harbour"), ("sea", prompt)], kind=kind)
    return text.replace("  - id: sea\n", "  - id: sea\n    extend_of: harbour\n    seconds: 8\n")


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


@pytest.mark.parametrize("kind", ["simulator", "openai"])
def test_extension_lasts_the_source_plus_its_seconds_and_pays_one_create(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    project.gen({"renderkit.yaml": extension(simulator, kind)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"harbour": "rendered", "sea": "rendered"}
    ledger = simulator.ledger()
    assert ledger["creates"] == 2
    assert ledger["requests"]["POST /v1/videos/extensions"] == 1
    assert ledger["paid_seconds"] == 4 + 8
    check_mp4(project.path("renders/sea.mp4"), "1280x720", 12)
    with pytest.raises(Mp4Problem):
        check_mp4(project.path("renders/sea.mp4"), "1280x720", 8)
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert (lock.entries["harbour"].seconds, lock.entries["sea"].seconds) == (4, 12)


def test_editing_the_extension_extends_the_cached_source_for_one_create(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": extension(simulator)})
    assert build(project, capsys)[0] == 0
    project.gen({"renderkit.yaml": extension(simulator, prompt="The boat turns back")})
    before = simulator.ledger()["creates"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"harbour": "cached", "sea": "rendered"}
    assert simulator.ledger()["creates"] == before + 1
    check_mp4(project.path("renders/sea.mp4"), "1280x720", 12)


def test_editing_the_source_re_renders_the_extension(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": extension(simulator)})
    assert build(project, capsys)[0] == 0
    project.gen({"renderkit.yaml": extension(simulator).replace("A boat in a harbour", "A ship in a harbour")})
    before = simulator.ledger()["creates"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"harbour": "rendered", "sea": "rendered"}
    assert simulator.ledger()["creates"] == before + 2


def test_a_lost_extension_answer_is_found_through_the_list_route(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    # The listed task says 12 seconds (the extended total), not the 8 the extension asked for.
    simulator.add_fault("POST /v1/videos/extensions:drop-after:@1")
    project.gen({"renderkit.yaml": extension(simulator, "openai")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"harbour": "rendered", "sea": "rendered"}
    assert "recovered task" in err
    assert simulator.ledger()["creates"] == 2
    check_mp4(project.path("renders/sea.mp4"), "1280x720", 12)


@pytest.mark.parametrize("kind", ["generations", "unified"])
def test_extension_on_a_family_without_the_route_fails_at_validate_time(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    project.gen({"renderkit.yaml": extension(simulator, kind)})
    code, _, err = build(project, capsys)
    assert code == 2
    assert f"renderkit.yaml:17:16: scenes[1].extend_of: provider 'main' (kind {kind}) cannot extend a video" in err
    assert project.files() == {"renderkit.yaml"}
    assert simulator.ledger()["requests"] == {}
