"""A cold build and a no-op rebuild in every wire family and response dialect the simulator speaks."""

from __future__ import annotations

import json

import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses, stopped
from tests.fixtures.project import Project

CASES = [
    ("simulator", "openai"),
    ("openai", "openai"),
    ("openai", "envelope"),
    ("openai", "taskdto"),
    ("openai", "video-object"),
    ("generations", "openai"),
    ("generations", "envelope"),
    ("generations", "taskdto"),
    ("unified", "openai"),
    ("unified", "envelope"),
]


@pytest.mark.parametrize(("kind", "dialect"), CASES)
def test_cold_build_then_noop_in_every_dialect(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    dialect: str,
) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    simulator.configure(dialect=dialect, status_lag=0.1)
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:2], kind=kind)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 2
    before = simulator.ledger()["requests"]
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["requests"] == before


def test_wrong_key_is_reported_without_the_key(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_simulator(api_keys=("sk-the-right-one",))
    monkeypatch.setenv("SIM_API_KEY", KEY)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 1
    assert stopped(report, 1) == "ProviderError"
    assert KEY not in json.dumps(report)
    assert "SIM_API_KEY" in err
    assert KEY not in err
    assert sim.ledger()["creates"] == 0
    assert sum(sim.ledger()["requests"].values()) == 1, "after a 401 the other creates must not be sent"
