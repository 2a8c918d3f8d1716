"""`renderkit build` end to end against the simulator over real HTTP."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from renderkit.simulator import Simulator
from renderkit.store import cache as cache_module
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def test_cold_build_renders_locks_and_pays_once_per_scene(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "rendered", "skyline": "rendered", "outro": "rendered"}
    assert simulator.ledger()["creates"] == 3
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert sorted(lock.entries) == ["intro", "outro", "skyline"]
    for entry in lock.entries.values():
        data = project.path(entry.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert len(data) == entry.bytes
        assert entry.file == f"renders/{entry.id}.mp4"
    assert report is not None
    assert report["totals"] == {
        "rendered": 3,
        "cached": 0,
        "failed": 0,
        "cost_usd": pytest.approx(1.2),
        "unknown_cost": 0,
    }
    assert not [p for p in project.files() if p.startswith("renders/") and not p.endswith(".mp4")]


def test_noop_rebuild_sends_nothing_and_keeps_lock_bytes(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    lock_bytes = project.path("renderkit.lock").read_bytes()
    before = simulator.ledger()
    code, report, _ = build(project, capsys)
    assert code == 0
    assert statuses(report) == dict.fromkeys(("intro", "skyline", "outro"), "cached")
    assert simulator.ledger()["requests"] == before["requests"]
    assert project.path("renderkit.lock").read_bytes() == lock_bytes


def test_one_prompt_edit_pays_exactly_one_create(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    edited = [(i, p + " in the rain" if i == "skyline" else p) for i, p in SCENES]
    project.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    code, report, _ = build(project, capsys)
    assert code == 0
    assert statuses(report) == {"intro": "cached", "skyline": "rendered", "outro": "cached"}
    assert simulator.ledger()["creates"] == 4


def test_deleted_output_is_restored_from_cache_without_requests(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    original = project.path("renders/intro.mp4").read_bytes()
    project.path("renders/intro.mp4").unlink()
    project.path("renders/outro.mp4").write_bytes(b"edited by hand")
    before = simulator.ledger()["requests"]
    assert build(project, capsys)[0] == 0
    assert project.path("renders/intro.mp4").read_bytes() == original
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert hashlib.sha256(project.path("renders/outro.mp4").read_bytes()).hexdigest() == lock.entries["outro"].sha256
    assert simulator.ledger()["requests"] == before


def test_frozen_refuses_when_anything_would_render(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, _, err = build(project, capsys, "--frozen")
    assert code == 3
    assert "--frozen" in err
    assert simulator.ledger()["creates"] == 0
    assert not project.path("renderkit.lock").exists()
    assert build(project, capsys)[0] == 0
    code, report, _ = build(project, capsys, "--frozen")
    assert code == 0
    assert set(statuses(report).values()) == {"cached"}
    project.gen({"renderkit.yaml": manifest_text(simulator, [*SCENES, ("extra", "One more")])})
    before = simulator.ledger()["requests"]
    code, _, err = build(project, capsys, "--frozen")
    assert code == 3
    assert "extra" in err
    assert simulator.ledger()["requests"] == before


@pytest.mark.parametrize(("budget", "flag"), [("budget: 1.0", ()), ("", ("--max-cost", "0.5"))])
def test_cost_caps_refuse_before_any_request(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    budget: str,
    flag: tuple[str, ...],
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES, extra=budget)})
    code, _, err = build(project, capsys, *flag)
    assert code == 3
    assert "$1.20" in err
    assert simulator.ledger()["requests"] == {}
    assert project.files() == {"renderkit.yaml"}


def test_failed_job_does_not_stop_the_others(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:fail=content_policy_violation:@2")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 1
    st = statuses(report)
    assert sorted(st.values()) == ["failed", "rendered", "rendered"]
    failed = next(s for s, v in st.items() if v == "failed")
    assert "content_policy_violation" in err
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert failed not in lock.entries
    assert len(lock.entries) == 2
    simulator.clear_faults()
    code, report, _ = build(project, capsys)
    assert code == 0
    assert statuses(report)[failed] == "rendered"
    assert simulator.ledger()["creates"] == 4


def test_rate_limit_storm_is_retried_without_extra_creates(
    make_simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = make_simulator(rpm=2, rate_window=0.5)
    scenes = [(f"s{i}", f"prompt {i}") for i in range(6)]
    project.gen({"renderkit.yaml": manifest_text(sim, scenes)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    ledger = sim.ledger()
    assert ledger["creates"] == 6
    assert ledger["responses"].get("429", 0) > 0


def test_truncated_download_is_resumed(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("content:truncate=0.4:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1])})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "rendered"}
    assert simulator.ledger()["creates"] == 1
    assert simulator.ledger()["faults"]


def test_missing_api_key_fails_before_any_request(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIM_API_KEY")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, _, err = build(project, capsys)
    assert code == 2
    assert "SIM_API_KEY" in err
    assert "Traceback" not in err
    assert simulator.ledger()["requests"] == {}
    assert project.files() == {"renderkit.yaml"}


def test_secret_never_lands_in_files_or_output(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:fail:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, report, err = build(project, capsys)
    assert code == 1
    assert KEY not in err
    assert KEY not in json.dumps(report)
    for rel in project.files():
        assert KEY.encode() not in project.path(rel).read_bytes(), rel


def test_plain_progress_opens_with_the_plan_and_says_what_waits_on_what(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = manifest_text(simulator, [*SCENES[:1], ("intro-rain", "The same street in heavy rain")])
    text = text.replace("  - id: intro-rain\n", "  - id: intro-rain\n    remix_of: intro\n")
    project.gen({"renderkit.yaml": text})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "rendered", "intro-rain": "rendered"}
    lines = err.splitlines()
    assert lines[0] == "renderkit build: 2 scene(s) to render, $0.80 planned"
    waiting = lines.index("renderkit: intro-rain: waiting for intro")
    assert waiting < next(i for i, line in enumerate(lines) if line.startswith("renderkit: intro: done"))


def test_plain_progress_says_the_simulator_prices_are_notional_and_a_gateway_prices_are_not(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    note = "renderkit: note: the simulator charges nothing; its prices are notional"
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], kind="openai")})
    code, _, err = build(project, capsys)
    assert code == 0, err
    assert note not in err.splitlines()  # the same server, but as a gateway whose prices are real
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[1:2])})
    code, _, err = build(project, capsys)
    assert code == 0, err
    assert err.splitlines()[:2] == ["renderkit build: 1 scene(s) to render, $0.40 planned", note]
    assert build(project, capsys)[2].splitlines()[0].startswith("renderkit: 1 scene(s): 0 rendered")  # nothing planned


def test_identical_requests_in_one_build_pay_once(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = [("a", "Same prompt"), ("b", "Same prompt"), ("c", "Another prompt")]
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"a": "rendered", "b": "rendered", "c": "rendered"}
    assert simulator.ledger()["creates"] == 2
    assert report is not None
    by_id = {s["id"]: s for s in report["scenes"]}
    assert by_id["a"]["key"] == by_id["b"]["key"]
    assert by_id["a"]["sha256"] == by_id["b"]["sha256"]
    assert sorted(s["cost_usd"] for s in (by_id["a"], by_id["b"])) == [0.0, pytest.approx(0.4)]
    assert report["totals"]["cost_usd"] == pytest.approx(0.8)
    assert project.path("renders/a.mp4").read_bytes() == project.path("renders/b.mp4").read_bytes()


def test_a_copy_cut_short_by_a_killed_build_is_cleaned_up(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    project.gen({"renderkit.yaml": manifest_text(simulator, [*SCENES, ("extra", "One more")])})
    project.gen({"renders/.extra.mp4.renderkit-tmp": b"half a copy"})
    code, report, _ = build(project, capsys)
    assert code == 0
    assert statuses(report)["extra"] == "rendered"
    assert sorted(p for p in project.files() if p.startswith("renders/")) == [
        f"renders/{s}.mp4" for s in sorted(["extra", "intro", "outro", "skyline"])
    ]


@pytest.mark.parametrize("fault", [None, "content:truncate=0.4:@1"], ids=["whole", "resumed"])
def test_outputs_are_written_as_they_download_not_copied_from_the_cache_after(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fault: str | None,
) -> None:
    simulator.configure(pad_to=3_000_000)
    if fault:
        simulator.add_fault(fault)
    copied: list[Path] = []
    clone = cache_module._clone

    def counted(src: Path, dest: Path) -> None:
        copied.append(dest)
        clone(src, dest)

    monkeypatch.setattr(cache_module, "_clone", counted)
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    for entry in lock.entries.values():
        data = project.path(entry.file).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (3_000_000, entry.sha256)
    assert copied == []
    assert sorted(p for p in project.files() if p.startswith("renders/")) == [
        "renders/intro.mp4",
        "renders/outro.mp4",
        "renders/skyline.mp4",
    ]
    if fault:
        assert simulator.ledger()["responses"].get("206") == 1, "the cut download resumed with a range"


def test_a_forced_render_with_the_same_bytes_leaves_no_copy_behind(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.configure(seed=7)  # repeatable renders: the forced one has the bytes of the first
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    first = project.path("renders/intro.mp4").read_bytes()
    code, report, err = build(project, capsys, "--force", "intro")
    assert code == 0, err
    assert statuses(report)["intro"] == "rendered"
    assert simulator.ledger()["creates"] == 4
    assert project.path("renders/intro.mp4").read_bytes() == first
    assert not [p for p in project.files() if p.startswith("renders/") and not p.endswith(".mp4")]
