"""Never pay twice: killed builds, lost create answers, expired results, and the --force consent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from renderkit.simulator import Simulator
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses
from tests.fixtures.project import Project
from tests.fixtures.waiting import poll


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def journaled_tasks(cache: Path) -> int:
    try:
        return (cache / "journal.jsonl").read_text().count('"state": "task"')
    except FileNotFoundError:
        return 0


def wait_until(predicate: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    """Poll ``predicate`` with a deadline while the build runs."""

    def look() -> bool:
        assert proc.poll() is None, f"the build ended before {what}"
        return predicate()

    poll(look, bool, timeout=60, what=what)


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_build_locks_what_finished_and_the_rerun_resumes(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str], sig: signal.Signals, code: int
) -> None:
    sim = make_simulator(latency=30.0)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderkit", "build", str(project.path("renderkit.yaml")), "--jobs", "1"],
        env={**os.environ, "SIM_API_KEY": KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts background jobs with SIGINT ignored, and children inherit that; a user's terminal
        # does not, so the build gets the default disposition whoever started pytest.
        preexec_fn=default_sigint,
    )
    try:
        wait_until(lambda: journaled_tasks(project.path(".renderkit")) >= 1, proc, "the first create")
        sim.advance(31.0)  # the first scene completes; the second is created and left running
        wait_until(lambda: journaled_tasks(project.path(".renderkit")) >= 2, proc, "the second create")
        wait_until(project.path("renders/intro.mp4").is_file, proc, "the first output")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == code, err
    assert err.count("interrupted; rerun the same command to resume") == 1, err
    assert "Traceback" not in err
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert list(lock.entries) == ["intro"]
    assert project.path("renders/intro.mp4").is_file()
    assert not [p for p in project.files() if p.startswith("renders/") and p != "renders/intro.mp4"]
    sim.advance(31.0)
    sim.configure(latency=0.2)
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "cached", "skyline": "rendered", "outro": "rendered"}
    assert sim.ledger()["creates"] == 3, "the rerun resumes the journaled task and creates only the last scene"


def test_sigkilled_build_resumes_polling_and_pays_once(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_simulator(latency=30.0)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    env = {**os.environ, "SIM_API_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderkit", "build", str(project.path("renderkit.yaml"))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Every poll wakes the ledger's condition; by the time polls arrive, the journal holds their task ids.
        sim.wait_for(lambda _: journaled_tasks(project.path(".renderkit")) >= 3 or proc.poll() is not None, 60)
        assert proc.poll() is None, "the build ended before it was killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert sim.ledger()["creates"] == 3
    assert not project.path("renderkit.lock").exists()
    sim.advance(31.0)
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert sim.ledger()["creates"] == 3
    assert "resuming task" in err


def test_lost_create_answer_is_found_through_the_list_route(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:drop-after:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES, kind="openai")})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 3
    assert "recovered task" in err


def test_lost_create_without_a_list_route_stops_until_the_user_consents(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:drop-after:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:2], kind="generations")})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 1
    st = statuses(report)
    lost = next(s for s, v in st.items() if v == "failed")
    assert f"--force {lost}" in err
    assert simulator.ledger()["creates"] == 2
    code, report, err = build(project, capsys)
    assert code == 1
    assert f"--force {lost}" in err
    assert simulator.ledger()["creates"] == 2, "a rerun must not re-send a create whose answer was lost"
    code, report, err = build(project, capsys, "--force", lost)
    assert code == 0, err
    assert statuses(report)[lost] == "rendered"
    assert simulator.ledger()["creates"] == 3


def test_server_error_on_create_is_never_resent_blindly(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:502:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], kind="unified")})
    code, _, err = build(project, capsys)
    assert code == 1
    assert "--force intro" in err
    assert simulator.ledger()["requests"].get("POST /v1/video/create") == 1


def test_result_gone_for_good_asks_for_consent_to_pay_again(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:expire:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], kind="openai")})
    code, _, err = build(project, capsys)
    assert code == 1
    assert "--force intro" in err
    code, _, err = build(project, capsys)
    assert code == 1
    assert simulator.ledger()["creates"] == 1
    simulator.clear_faults()
    code, _, err = build(project, capsys, "--force", "intro")
    assert code == 0, err
    assert simulator.ledger()["creates"] == 2


def test_poll_errors_are_retried(simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    simulator.add_fault("poll:503:@1-3")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1])})
    code, _, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["responses"].get("503") == 3
    assert simulator.ledger()["creates"] == 1


def test_force_rerenders_a_cached_scene(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    first = read_lock(project.path("renderkit.lock"))
    code, report, _ = build(project, capsys, "--force", "skyline")
    assert code == 0
    assert statuses(report) == {"intro": "cached", "skyline": "rendered", "outro": "cached"}
    assert simulator.ledger()["creates"] == 4
    second = read_lock(project.path("renderkit.lock"))
    assert first is not None
    assert second is not None
    assert second.entries["skyline"].task_id != first.entries["skyline"].task_id
    assert second.entries["intro"] == first.entries["intro"]


def test_force_of_an_unknown_scene_is_a_usage_error(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, _, err = build(project, capsys, "--force", "nope")
    assert code == 2
    assert "nope" in err
    assert simulator.ledger()["requests"] == {}


@pytest.mark.parametrize("dialect", ["openai", "envelope", "taskdto"])
def test_expired_result_url_is_fetched_through_the_content_route(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], dialect: str
) -> None:
    # Result URLs that are already expired when the task completes; the content route still serves.
    simulator.configure(url_ttl=0.0, dialect=dialect)
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], kind="generations")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "rendered"}
    ledger = simulator.ledger()
    assert ledger["creates"] == 1
    assert ledger["responses"].get("403") == 1
    assert ledger["requests"].get("GET /files/{file_id}") == 1
    assert ledger["requests"].get("GET /v1/videos/{video_id}/content") == 1
