"""A disk that refuses a write (a file where a folder must be, a folder where a file must be) is a located message
and an exit code, never a traceback, and nothing already paid for is lost."""

from __future__ import annotations

import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses, stopped
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def test_outputs_that_cannot_be_written_fail_their_scenes_and_cost_nothing_to_retry(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES), "renders": "a file where the folder goes"})
    code, report, err = build(project, capsys)
    assert code == 1
    assert set(statuses(report).values()) == {"failed"}
    assert "cannot write renders/intro.mp4" in err
    assert "Traceback" not in err
    assert simulator.ledger()["creates"] == 3
    project.path("renders").unlink()
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["creates"] == 3, "the renders were cached: fixing the folder cost nothing"


def test_a_folder_where_the_lock_goes_is_refused_before_anything_is_sent(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    project.path("renderkit.lock").mkdir()
    code, report, err = build(project, capsys)
    assert code == 2
    assert stopped(report, 2)
    assert "renderkit.lock: cannot be read" in err
    assert "Traceback" not in err
    assert simulator.ledger()["requests"] == {}


def test_a_journal_that_cannot_be_written_stops_the_build_before_any_create(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    project.path(".renderkit/journal.jsonl").mkdir(parents=True)
    code, report, err = build(project, capsys)
    assert code == 1
    assert stopped(report, 1)
    assert "cannot read the journal" in err
    assert "Traceback" not in err
    assert simulator.ledger()["creates"] == 0


def test_a_cache_folder_that_cannot_be_made_is_a_clear_error(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES), ".renderkit": "a file where the cache goes"})
    code, _, err = build(project, capsys)
    assert code in (1, 2)
    assert ".renderkit" in err
    assert "Traceback" not in err
    assert simulator.ledger()["creates"] == 0


def test_a_cache_that_refuses_a_download_stops_the_build_and_the_rerun_pays_nothing_again(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES), ".renderkit/tmp": "a file where temps go"})
    code, report, err = build(project, capsys)
    assert code == 1
    assert stopped(report, 1)
    assert "cannot write" in err
    assert "tasks already paid for are journaled" in err
    assert "Traceback" not in err
    paid = simulator.ledger()["creates"]
    assert 1 <= paid <= 3
    project.path(".renderkit/tmp").unlink()
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 3, "the rerun resumed the journaled tasks and created only the rest"
