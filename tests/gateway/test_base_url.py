"""kind: openai with no base_url follows OPENAI_BASE_URL, as the openai SDK does, and sends the key only there."""

from __future__ import annotations

import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import build, statuses
from tests.fixtures.project import Project

KEY = "sk-gateway-key-in-openai-var-0123"


def test_openai_base_url_is_where_the_key_goes(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim: Simulator = make_simulator(api_keys=(KEY,))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url + "/v1")
    project.gen(
        {
            "renderkit.yaml": "version: 1\nproviders:\n  gw: {kind: openai, poll_interval: 0.05}\n"
            "defaults: {model: sora-2, size: 1280x720, seconds: 4}\nscenes:\n  - {id: a, prompt: a boat}\n"
        }
    )
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"a": "rendered"}
    assert sim.ledger()["creates"] == 1
    assert sim.ledger()["responses"].get("401") is None


def test_a_manifest_base_url_wins_over_openai_base_url(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    used: Simulator = make_simulator()
    other: Simulator = make_simulator()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", other.base_url)
    project.gen(
        {
            "renderkit.yaml": f"version: 1\nproviders:\n  gw: {{kind: openai, base_url: '{used.base_url}', "
            "poll_interval: 0.05}\ndefaults: {model: sora-2, size: 1280x720, seconds: 4}\n"
            "scenes:\n  - {id: a, prompt: a boat}\n"
        }
    )
    assert build(project, capsys)[0] == 0
    assert used.ledger()["creates"] == 1
    assert other.ledger()["requests"] == {}, "the key never went to the host the manifest did not name"
