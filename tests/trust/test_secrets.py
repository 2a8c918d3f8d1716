"""A provider that echoes the API key back (in a 401, in a failed task's reason) never gets it printed, put in
--json, journaled, locked or raised: every answer passes through one scrubber."""

from __future__ import annotations

import base64
import json

import pytest

from renderkit.errors import ProviderError
from renderkit.providers.scrub import MASK, scrub, secret_forms
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, SCENES, build, manifest_text, stopped
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def everything_written(project: Project) -> str:
    """Every text file renderkit left in the project (cache index excluded: it is SQLite)."""
    out = []
    for path in project.root.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".lock", ".json", ".yaml"):
            out.append(path.read_text(errors="replace"))
    return "\n".join(out)


def test_a_wrong_key_echoed_in_a_401_stops_the_build_once_and_is_never_shown(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    sim: Simulator = make_simulator(api_keys=("the-right-key-1234",), echo_key=True)
    scenes = [(f"s{i}", f"Shot {i}") for i in range(20)]
    project.gen({"renderkit.yaml": manifest_text(sim, scenes)})
    code, report, err = build(project, capsys)
    assert code == 1
    assert stopped(report, 1) == "ProviderError"
    assert KEY not in json.dumps(report)
    assert KEY not in err
    assert MASK in err, "the provider's message is kept, with the key masked"
    assert err.count("401") == 1, err
    assert sim.ledger()["responses"].get("401") == 1, "the build stopped at the first refusal"
    assert KEY not in everything_written(project)


def test_a_failed_task_echoing_the_key_is_reported_without_it(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    sim: Simulator = make_simulator(echo_key=True)
    sim.add_fault("create:fail=moderation_blocked:@2")
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 1
    assert report is not None
    assert [s["status"] for s in report["scenes"]].count("failed") == 1
    dumped = json.dumps(report)
    assert KEY not in dumped
    assert KEY not in err
    assert MASK in dumped
    assert KEY not in everything_written(project)


@pytest.mark.parametrize("form", ["plain", "bearer", "b64", "b64url"])
def test_every_form_of_the_key_is_masked(form: str) -> None:
    key = "sk-live-ABCdef012345+/xyz"
    shown = {
        "plain": key,
        "bearer": f"Bearer {key}",
        "b64": base64.b64encode(key.encode()).decode(),
        "b64url": base64.urlsafe_b64encode(key.encode()).decode().rstrip("="),
    }[form]
    text = scrub(f"upstream said: {shown} is invalid", secret_forms(key))
    assert key not in text
    assert shown not in text
    assert MASK in text


def test_scrubbed_errors_keep_their_meaning() -> None:
    from renderkit.providers.scrub import Scrubbed

    class Echo:
        kind = "openai"

        async def poll(self, task_id: str) -> object:
            raise ProviderError(f"bad key {KEY}", status=401, code=KEY, retryable=False)

    import anyio

    scrubbed = Scrubbed(Echo(), KEY)  # type: ignore[arg-type]  # a stand-in with only what this test calls

    async def go() -> None:
        await scrubbed.poll("t")

    with pytest.raises(ProviderError) as info:
        anyio.run(go)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert info.value.status == 401
    assert info.value.__cause__ is None
