"""Honest spend: a task already paid for plans as resume at $0, caps count only new spend, and the summary's
spend is what the provider accepted in this build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from renderkit.cli import main
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses
from tests.fixtures.project import Project
from tests.fixtures.waiting import poll

PRICE = 0.4  # sora-2 at $0.10/s, 4 s


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def journaled_tasks(project: Project) -> int:
    try:
        return project.path(".renderkit/journal.jsonl").read_text().count('"state": "task"')
    except FileNotFoundError:
        return 0


def test_an_interrupted_build_plans_as_resume_and_caps_count_only_new_spend(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_simulator(latency=30.0)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderkit", "build", str(project.path("renderkit.yaml"))],
        env={**os.environ, "SIM_API_KEY": KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        poll(lambda: journaled_tasks(project), lambda n: n >= 3 or proc.poll() is not None, timeout=60)
        proc.send_signal(signal.SIGTERM)
    finally:
        proc.wait(timeout=30)
    assert sim.ledger()["creates"] == 3
    project.gen({"renderkit.yaml": manifest_text(sim, [*SCENES, ("coda", "The harbour at night")])})
    assert main(["plan", str(project.path("renderkit.yaml")), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {s["id"]: s["status"] for s in doc["scenes"]} == {
        "intro": "resume",
        "skyline": "resume",
        "outro": "resume",
        "coda": "render",
    }
    assert {s["id"]: s["cost_usd"] for s in doc["scenes"] if s["status"] == "resume"} == dict.fromkeys(
        ("intro", "skyline", "outro"), 0.0
    )
    assert doc["totals"]["cost_usd"] == pytest.approx(PRICE)
    code, _, err = build(project, capsys, "--max-cost", "0.3")
    assert code == 3, "the new spend, $0.40, is over the cap; what was paid before is not counted"
    assert "$0.40" in err
    assert sim.ledger()["creates"] == 3
    sim.advance(31.0)
    sim.configure(latency=0.2)
    code, report, err = build(project, capsys, "--max-cost", "0.4")
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    new_creates = sim.ledger()["creates"] - 3
    assert new_creates == 1
    assert report is not None
    assert report["totals"]["cost_usd"] == pytest.approx(new_creates * PRICE), "spend = this build's creates"
    reasons = {s["id"]: s["reason"] for s in report["scenes"]}
    assert reasons["intro"].startswith("resumed task video_")
