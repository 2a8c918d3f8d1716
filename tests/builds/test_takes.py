"""Takes: a scene renders N candidates, each under the key `take: 1..N` gives, and `pick` chooses the output."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from renderkit.cli import main
from renderkit.manifest.load import load_manifest
from renderkit.plan.plan import make_plan
from renderkit.plan.policy import shard_of
from renderkit.plan.state import open_state
from renderkit.simulator import Simulator
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, build, manifest_text, statuses, stopped
from tests.fixtures.project import Project

SCENES = [("hero", "A red kite over a windy beach"), ("other", "A lighthouse at dusk")]


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def takes_manifest(sim: Simulator, hero: str, extra: str = "") -> str:
    """The two scenes, with ``hero``'s lines (``takes: 3``, ``take: 2`` ...) added to the first."""
    text = manifest_text(sim, SCENES, extra=extra)
    lines = "".join(f"    {line}\n" for line in hero.splitlines())
    return text.replace(
        '    prompt: "A red kite over a windy beach"\n', f'    prompt: "A red kite over a windy beach"\n{lines}'
    )


def plan_doc(project: Project, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["plan", str(project.path("renderkit.yaml")), "--json"]) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_candidates_have_the_keys_take_1_to_n_give(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    singles = []
    for n in (1, 2, 3):
        project.gen({"renderkit.yaml": takes_manifest(simulator, f"take: {n}")})
        singles.append(plan_doc(project, capsys)["scenes"][0]["key"])  # type: ignore[index]
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3\npick: 2")})
    doc = plan_doc(project, capsys)
    hero = doc["scenes"][0]  # type: ignore[index]
    assert len(doc["scenes"]) == 2  # type: ignore[arg-type]
    assert [t["key"] for t in hero["takes"]] == singles
    assert [(t["id"], t["take"], t["picked"]) for t in hero["takes"]] == [
        ("hero@take1", 1, False),
        ("hero", 2, True),
        ("hero@take3", 3, False),
    ]
    assert hero["key"] == singles[1]
    # The plan and the budget count every candidate.
    assert hero["cost_usd"] == pytest.approx(1.2)
    assert doc["totals"] == {"rendered": 4, "cached": 0, "failed": 0, "cost_usd": 1.6, "unknown_cost": 0}
    assert doc["scenes"][1]["takes"] is None  # type: ignore[index]


def test_budget_counts_every_candidate(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3", extra="budget: 1.5")})
    code, _, err = build(project, capsys)
    assert code == 3
    assert "would cost $1.60, over the budget of $1.50" in err
    assert simulator.ledger()["creates"] == 0


def test_changing_pick_pays_nothing_and_moves_the_output(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == 4
    assert report is not None
    assert [(t["id"], t["status"]) for t in report["scenes"][0]["takes"]] == [
        ("hero", "rendered"),
        ("hero@take2", "rendered"),
        ("hero@take3", "rendered"),
    ]
    assert report["totals"]["rendered"] == 4
    assert "2 scene(s) in 4 renders: 4 rendered ($1.60)" in err
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    hero = lock.entries["hero"]
    assert [t.take for t in hero.takes] == [1, 2, 3]
    assert (hero.key, hero.sha256) == (hero.takes[0].key, hero.takes[0].sha256)
    assert len({t.sha256 for t in hero.takes}) == 3  # three different videos
    assert "hero@take2.mp4" not in {p.rsplit("/", 1)[-1] for p in project.files()}

    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3\npick: 3")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == 4  # zero creates for the new pick
    assert statuses(report) == {"hero": "cached", "other": "cached"}
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    picked = lock.entries["hero"]
    assert (picked.key, picked.sha256) == (hero.takes[2].key, hero.takes[2].sha256)
    assert picked.takes == hero.takes
    output = project.path("renders/hero.mp4").read_bytes()
    assert hashlib.sha256(output).hexdigest() == hero.takes[2].sha256


def test_raising_takes_renders_only_the_new_candidate_and_force_takes_a_candidate_id(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 2")})
    assert build(project, capsys)[0] == 0
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3")})
    doc = plan_doc(project, capsys)
    takes = doc["scenes"][0]["takes"]  # type: ignore[index]
    assert [(t["status"], t["reason"]) for t in takes] == [
        ("cached", "take 1 is cached"),
        ("cached", "take 2 is cached"),
        ("render", "take 3 is new"),
    ]
    code, _, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == 4
    code, report, err = build(project, capsys, "--force", "hero@take2")
    assert code == 0, err
    assert simulator.ledger()["creates"] == 5
    assert report is not None
    assert [t["status"] for t in report["scenes"][0]["takes"]] == ["cached", "rendered", "cached"]


def test_a_failed_candidate_fails_the_build_and_renders_alone_next_time(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3")})
    simulator.add_fault("create:fail:@2")
    code, report, err = build(project, capsys)
    assert code == 1
    assert report is not None
    failed = [t["id"] for s in report["scenes"] for t in s.get("takes") or [s] if t["status"] == "failed"]
    assert len(failed) == 1
    assert f"FAILED {failed[0]}: " in err
    assert report["totals"]["failed"] == 1
    simulator.clear_faults()
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == 5  # the failed one again, and nothing else
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert len(lock.entries["hero"].takes) == 3


def test_zero_takes_or_pick_beyond_takes_is_a_located_error(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    for lines, where in (("takes: 0", ":16:12: scenes[0].takes:"), ("takes: 2\npick: 3", ":17:11: scenes[0].pick:")):
        project.gen({"renderkit.yaml": takes_manifest(simulator, lines)})
        code, report, err = build(project, capsys)
        assert (code, stopped(report, 2)) == (2, "ManifestError")
        assert f"renderkit.yaml{where}" in err
        assert not project.path("renderkit.lock").exists()
    assert simulator.ledger()["creates"] == 0


def test_a_scene_own_take_wins_over_default_takes(simulator: Simulator, project: Project) -> None:
    extra = "  takes: 2\n  pick: 2"
    project.gen({"renderkit.yaml": takes_manifest(simulator, "take: director", extra=extra)})
    scenes = {s.id: s for s in load_manifest(project.path("renderkit.yaml")).scenes}
    assert (scenes["hero"].takes, scenes["hero"].request.take) == (1, "director")
    assert (scenes["other"].takes, scenes["other"].pick, scenes["other"].request.take) == (2, 2, "2")


def test_candidates_stay_in_their_scenes_shard(simulator: Simulator, project: Project) -> None:
    many = [(f"s{n}", f"Scene {n}") for n in range(6)]
    text = manifest_text(simulator, many).replace('    prompt: "Scene 0"\n', '    prompt: "Scene 0"\n    takes: 4\n')
    project.gen({"renderkit.yaml": text})
    manifest = load_manifest(project.path("renderkit.yaml"))
    plan = make_plan(manifest, open_state(manifest, {}))
    shards = [shard_of(plan, (k, 3), None) for k in (1, 2, 3)]
    holder = [s for s in shards if "s0" in s]
    assert len(holder) == 1
    assert {"s0@take2", "s0@take3", "s0@take4"} <= holder[0]
    assert sum(len(s) for s in shards) == 6 + 3


def test_frozen_restores_the_pick_without_the_other_candidates(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3\npick: 2")})
    assert build(project, capsys)[0] == 0
    lock_bytes = project.path("renderkit.lock").read_bytes()
    shutil.rmtree(project.path(".renderkit"))  # a CI machine: the committed lock and outputs, no cache
    code, report, err = build(project, capsys, "--frozen")
    assert code == 0, err
    assert simulator.ledger()["creates"] == 4
    assert project.path("renderkit.lock").read_bytes() == lock_bytes
    assert report is not None
    assert [t["status"] for t in report["scenes"][0]["takes"]] == ["render", "cached", "render"]
    assert report["scenes"][0]["takes"][0]["reason"] == "not restored by --frozen"
    # Raising takes makes the lock stale for --frozen.
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 4\npick: 2")})
    code, _, err = build(project, capsys, "--frozen")
    assert code == 3
    assert "is stale" in err


def test_gc_keeps_every_candidate_the_lock_pins(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3")})
    assert build(project, capsys)[0] == 0
    assert main(["gc", str(project.path("renderkit.yaml"))]) == 0
    capsys.readouterr()
    project.gen({"renderkit.yaml": takes_manifest(simulator, "takes: 3\npick: 3")})
    code, _, err = build(project, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == 4
