"""What a build may pay for, met the way a user meets it: `renderkit build` against the simulator.

Every refusal of ``--frozen`` (no lock, a stale lock, a scene added or removed, renders nowhere at hand), both
cost caps together, and shards built on two machines. Each refusal is checked by its exit code, by the words that
say which one it is, and by the simulator's ledger: nothing at all was sent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import SCENES, build, manifest_text, statuses, stopped
from tests.builds.test_commands import built, sim_key
from tests.fixtures.project import Project

__all__ = ["built", "sim_key"]  # fixtures shared with tests/builds/test_commands.py


@pytest.fixture
def locked(built: Project, simulator: Simulator) -> Project:
    """A project whose three scenes are built, cached and locked; the ledger counts from zero again."""
    simulator.reset()
    return built


def refused(
    project: Project, capsys: pytest.CaptureFixture[str], sim: Simulator, *args: str, adopts: bool = False
) -> str:
    """Run a build that must be refused before anything is sent; return what it said.

    It writes nothing either, except (``adopts``) the outputs the lock pins, copied into the cache first.
    """
    before = project.files()
    code, report, err = build(project, capsys, *args)
    assert code == 3, err
    assert stopped(report, 3) == "RefusedError"
    assert sim.ledger()["requests"] == {}, "a refused build sends nothing"
    after = project.files()
    if adopts:
        after = {f for f in after if not f.startswith(".renderkit/")}
    assert after == before, "and writes nothing"
    return err


# --frozen -------------------------------------------------------------------------------------------------------


def test_frozen_without_a_lock_says_so(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    err = refused(project, capsys, simulator, "--frozen")
    assert "--frozen: there is no renderkit.lock" in err


def test_frozen_with_everything_at_hand_sends_nothing(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, err = build(locked, capsys, "--frozen")
    assert code == 0, err
    assert statuses(report) == dict.fromkeys(("intro", "skyline", "outro"), "cached")
    assert simulator.ledger()["requests"] == {}


def test_frozen_refuses_a_scene_whose_prompt_changed(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = [(i, p + " at night" if i == "skyline" else p) for i, p in SCENES]
    locked.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    err = refused(locked, capsys, simulator, "--frozen")
    assert "renderkit.lock is stale: the manifest changed for 1 scene(s) (skyline) since it was written" in err


def test_frozen_refuses_a_scene_added_to_the_manifest(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    locked.gen({"renderkit.yaml": manifest_text(simulator, [*SCENES, ("credits", "Rolling credits")])})
    err = refused(locked, capsys, simulator, "--frozen")
    assert "is stale: the manifest changed for 1 scene(s) (credits)" in err


def test_frozen_refuses_a_scene_removed_from_the_manifest(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing would render, yet the lock pins a scene the manifest no longer has: the lock is stale."""
    locked.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:2])})
    err = refused(locked, capsys, simulator, "--frozen")
    assert "is stale: the manifest changed for 1 scene(s) (outro)" in err
    code, report, err = build(locked, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "cached", "skyline": "cached"}
    assert simulator.ledger()["requests"] == {}


def test_frozen_refuses_when_a_pinned_render_is_nowhere_at_hand(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock still matches every scene, but one render is neither cached nor on disk: it would be paid again."""
    shutil.rmtree(locked.path(".renderkit"))
    locked.path("renders/intro.mp4").unlink()
    err = refused(locked, capsys, simulator, "--frozen", adopts=True)
    assert "is stale" not in err
    assert (
        "--frozen: renderkit.lock is current, but the renders of 1 scene(s) (intro) are available neither in the "
        "cache, nor as the outputs the lock pins, nor on the remote; nothing was sent"
    ) in err


def test_frozen_names_the_first_ten_stale_scenes_and_counts_them_all(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = [(f"s{i:02d}", f"prompt {i}") for i in range(12)]
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes[:1])})
    assert build(project, capsys)[0] == 0
    simulator.reset()
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes[:11])})
    ten = ", ".join(f"s{i:02d}" for i in range(1, 11))
    assert f"changed for 10 scene(s) ({ten}) since" in refused(project, capsys, simulator, "--frozen")
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes)})
    assert f"changed for 11 scene(s) ({ten}, …) since" in refused(project, capsys, simulator, "--frozen")


# Cost caps ------------------------------------------------------------------------------------------------------
# Three 4-second sora-2 scenes cost $1.20 ($0.40 each).


@pytest.mark.parametrize(
    ("budget", "max_cost", "words"),
    [
        (1.0, 0.5, "over the --max-cost of $0.50"),
        (0.5, 1.0, "over the budget of $0.50"),
        (2.0, 1.0, "over the --max-cost of $1.00"),
        (1.0, 2.0, "over the budget of $1.00"),
    ],
)
def test_with_both_caps_the_lower_one_refuses(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    budget: float,
    max_cost: float,
    words: str,
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES, extra=f"budget: {budget}")})
    err = refused(project, capsys, simulator, "--max-cost", str(max_cost))
    assert f"this build would cost $1.20, {words}; nothing was sent" in err


@pytest.mark.parametrize("flag", ["budget", "--max-cost"])
def test_a_build_that_costs_exactly_the_cap_goes_ahead(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    extra, args = ("budget: 1.2", ()) if flag == "budget" else ("", ("--max-cost", "1.2"))
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES, extra=extra)})
    code, report, err = build(project, capsys, *args)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 3


def test_a_cap_counts_only_what_this_build_renders(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    locked.gen({"renderkit.yaml": manifest_text(simulator, [*SCENES, ("credits", "Rolling credits")])})
    code, report, err = build(locked, capsys, "--max-cost", "0.4")
    assert code == 0, err
    assert statuses(report) == {"intro": "cached", "skyline": "cached", "outro": "cached", "credits": "rendered"}
    assert simulator.ledger()["creates"] == 1


def test_a_cap_below_what_is_cached_leaves_a_noop_build_alone(
    locked: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    locked.gen({"renderkit.yaml": manifest_text(simulator, SCENES, extra="budget: 0.01")})
    code, report, err = build(locked, capsys, "--max-cost", "0.01")
    assert code == 0, err
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["requests"] == {}


def test_a_model_priced_at_nothing_adds_nothing_to_a_cap(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two sora-2 scenes cost $0.80; the teaser's model is declared free, so a cap of $0.80 lets all three go."""
    text = unknown_model_manifest(simulator, "budget: 0.8\nmodels:\n  house-model-1: {usd_per_second: 0}")
    project.gen({"renderkit.yaml": text})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 3


def unknown_model_manifest(sim: Simulator, extra: str = "") -> str:
    text = manifest_text(sim, [*SCENES[:2], ("teaser", "A teaser")], extra=extra)
    return text.replace("  - id: teaser\n", "  - id: teaser\n    model: house-model-1\n")


@pytest.mark.parametrize(("extra", "args"), [("budget: 100", ()), ("", ("--max-cost", "100"))])
def test_a_cap_refuses_a_scene_whose_cost_is_unknown(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], extra: str, args: tuple[str, ...]
) -> None:
    project.gen({"renderkit.yaml": unknown_model_manifest(simulator, extra)})
    err = refused(project, capsys, simulator, *args)
    assert (
        "a cost cap of $100.00 is set but the cost of teaser is unknown (renderkit has no price for house-model-1)"
        in err
    )


def test_without_a_cap_a_scene_of_unknown_cost_renders(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": unknown_model_manifest(simulator)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 3
    # Once it is cached there is nothing left to estimate, so a cap no longer stands in the way.
    simulator.reset()
    code, report, err = build(project, capsys, "--max-cost", "0.01")
    assert code == 0, err
    assert simulator.ledger()["requests"] == {}


# --shard --------------------------------------------------------------------------------------------------------


def test_two_machines_building_one_shard_each_pay_once_for_a_request_two_scenes_share(
    simulator: Simulator, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each machine has its own cache: a request split across the shards would be bought by both."""
    text = manifest_text(simulator, [("a", "A lighthouse"), ("b", "A lighthouse"), ("c", "A harbour")])
    other = Project(tmp_path / "other")
    for machine in (project, other):
        machine.gen({"renderkit.yaml": text})
    done: dict[int, set[str]] = {}
    for k, machine in enumerate((project, other), start=1):
        code, report, err = build(machine, capsys, "--shard", f"{k}/2")
        assert code == 0, err
        done[k] = {s for s, v in statuses(report).items() if v == "rendered"}
    assert simulator.ledger()["creates"] == 2, "one create per distinct request across the machines"
    assert {"a", "b"} in done.values()
