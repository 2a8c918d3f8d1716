"""make_plan against an in-memory State: statuses, field-level reasons, order and cost."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from renderkit.errors import ManifestError
from renderkit.manifest.load import Manifest, load_manifest
from renderkit.plan.plan import Plan, Previous, make_plan
from tests.fixtures.project import Project
from tests.manifest.conftest import PNG

BASE = """version: 1
scenes:
  - {id: skyline, prompt: A city skyline at dusk, size: 1280x720, seconds: 4, image: ref.png}
  - {id: night, remix_of: skyline, prompt: Make it night}
  - {id: pro, prompt: A boat, model: sora-2-pro, size: 1792x1024, seconds: 8}
"""


@dataclass
class FakeState:
    """A cache and lock in memory; ``remember`` records a plan as if it had been built."""

    keys: set[str] = field(default_factory=set)
    last: dict[str, Previous] = field(default_factory=dict)

    def cached(self, key: str) -> bool:
        return key in self.keys

    def previous(self, scene_id: str) -> Previous | None:
        return self.last.get(scene_id)

    def paid(self, key: str) -> str | None:
        return None

    def remember(self, plan: Plan) -> None:
        for item in plan.items:
            self.keys.add(item.key)
            self.last[item.scene.id] = Previous(item.key, item.request.identity())


def manifest(project: Project, text: str = BASE) -> Manifest:
    project.gen({"renderkit.yaml": text, "ref.png": PNG})
    return load_manifest(project.path("renderkit.yaml"))


def verdicts(plan: Plan) -> dict[str, tuple[str, str]]:
    return {i.scene.id: (i.status, i.reason) for i in plan.items}


def test_first_plan_renders_everything_and_blocks_remixes(project: Project) -> None:
    plan = make_plan(manifest(project), FakeState())
    assert verdicts(plan) == {
        "skyline": ("render", "new scene"),
        "night": ("blocked", "upstream skyline re-renders; new scene"),
        "pro": ("render", "new scene"),
    }
    costs = {i.scene.id: i.cost_usd for i in plan.items}
    assert costs == {"skyline": pytest.approx(0.4), "night": pytest.approx(0.4), "pro": pytest.approx(4.0)}
    assert plan.total_cost_usd == pytest.approx(4.8)
    assert plan.unknown_cost == ()
    assert plan.items[1].depends_on == ("skyline",)


def test_unchanged_manifest_is_all_cached_and_free(project: Project) -> None:
    state = FakeState()
    state.remember(make_plan(manifest(project), state))
    plan = make_plan(manifest(project), state)
    assert {s for s, _ in verdicts(plan).values()} == {"cached"}
    assert {r for _, r in verdicts(plan).values()} == {"unchanged"}
    assert plan.total_cost_usd == 0


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("seconds: 4, image", "seconds: 8, image", "seconds 4 -> 8"),
        ("A city skyline at dusk", "A city skyline at dawn", "prompt changed"),
        ("seconds: 4, image", "seconds: 4, take: 2, image", "take changed"),
        ("size: 1280x720, seconds: 4", "size: 1280x720, model: sora-2-pro, seconds: 4", "model sora-2 -> sora-2-pro"),
        ("size: 1280x720, seconds: 4", "size: 720x1280, seconds: 4", "size 1280x720 -> 720x1280"),
        ("size: 1280x720, seconds: 4", "size: 720x1280, seconds: 8", "size 1280x720 -> 720x1280, seconds 4 -> 8"),
    ],
)
def test_reasons_name_the_changed_field(project: Project, old: str, new: str, reason: str) -> None:
    state = FakeState()
    state.remember(make_plan(manifest(project), state))
    plan = make_plan(manifest(project, BASE.replace(old, new)), state)
    assert verdicts(plan)["skyline"] == ("render", reason)
    # A remix inherits size, seconds and model, so their changes show on it too.
    inherited = ", ".join(r for r in reason.split(", ") if not r.endswith("changed"))
    assert verdicts(plan)["night"] == ("blocked", "; ".join(filter(None, ["upstream skyline re-renders", inherited])))
    assert verdicts(plan)["pro"] == ("cached", "unchanged")


def test_changed_image_content_is_a_reason(project: Project) -> None:
    state = FakeState()
    state.remember(make_plan(manifest(project), state))
    m = manifest(project)
    project.gen({"ref.png": PNG + b"retouched"})
    plan = make_plan(load_manifest(m.path), state)
    assert verdicts(plan)["skyline"] == ("render", "input image changed")


def test_blocked_scene_has_its_new_key_and_own_changes(project: Project) -> None:
    state = FakeState()
    first = make_plan(manifest(project), state)
    state.remember(first)
    text = BASE.replace("at dusk", "at dawn").replace("Make it night", "Make it rain")
    plan = make_plan(manifest(project, text), state)
    night = plan.items[1]
    assert (night.status, night.reason) == ("blocked", "upstream skyline re-renders; prompt changed")
    assert night.key != first.items[1].key
    assert night.request.identity()["remix_of"] == plan.items[0].key


def test_force_renders_a_cached_scene_and_nothing_else(project: Project) -> None:
    state = FakeState()
    state.remember(make_plan(manifest(project), state))
    plan = make_plan(manifest(project), state, force={"pro"})
    assert verdicts(plan)["pro"] == ("render", "forced")
    assert verdicts(plan)["skyline"] == ("cached", "unchanged")
    assert plan.total_cost_usd == pytest.approx(4.0)


def test_missing_cache_entry_and_missing_request_have_reasons(project: Project) -> None:
    state = FakeState()
    first = make_plan(manifest(project), state)
    state.remember(first)
    state.keys.discard(first.items[2].key)
    state.last["skyline"] = Previous("0" * 64, None)
    state.keys.discard(first.items[0].key)
    plan = make_plan(manifest(project), state)
    assert verdicts(plan)["pro"] == ("render", "not in the cache")
    assert verdicts(plan)["skyline"] == ("render", "request changed")


def test_renamed_scene_with_a_cached_request_stays_cached(project: Project) -> None:
    state = FakeState()
    state.remember(make_plan(manifest(project), state))
    plan = make_plan(manifest(project, BASE.replace("id: pro,", "id: boat,")), state)
    assert verdicts(plan)["boat"] == ("cached", "same request as a cached render")


def test_items_come_upstream_first_then_in_manifest_order(project: Project) -> None:
    text = """version: 1
scenes:
  - {id: c, remix_of: b, prompt: x}
  - {id: z, prompt: x}
  - {id: b, remix_of: a, prompt: x}
  - {id: a, prompt: x}
"""
    plan = make_plan(manifest(project, text), FakeState())
    assert [i.scene.id for i in plan.items] == ["a", "b", "c", "z"]
    assert [i.status for i in plan.items] == ["render", "blocked", "blocked", "render"]


def test_unknown_model_has_no_cost_and_is_listed(project: Project) -> None:
    text = "version: 1\nscenes:\n  - {id: a, prompt: x, model: kling-2, size: 1280x720, seconds: 5}\n"
    plan = make_plan(manifest(project, text), FakeState())
    assert plan.items[0].cost_usd is None
    assert plan.unknown_cost == ("a",)
    assert plan.total_cost_usd == 0


def test_long_remix_chains_and_cycles_are_handled_without_recursion(project: Project) -> None:
    chain = ["version: 1", "scenes:", "  - {id: s0, prompt: x}"]
    chain += [f"  - {{id: s{i}, remix_of: s{i - 1}, prompt: x}}" for i in range(1, 3000)]
    plan = make_plan(manifest(project, "\n".join(chain[:2] + chain[:2:-1] + chain[2:3]) + "\n"), FakeState())
    assert [i.scene.id for i in plan.items[:3]] == ["s0", "s1", "s2"]
    assert plan.items[-1].depends_on == ("s2998",)
    cycle = ["version: 1", "scenes:"] + [
        f"  - {{id: s{i}, remix_of: s{(i + 1) % 3000}, prompt: x}}" for i in range(3000)
    ]
    project.gen({"renderkit.yaml": "\n".join(cycle) + "\n"})
    with pytest.raises(ManifestError) as caught:
        load_manifest(project.path("renderkit.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message.startswith(
        "remix_of forms a cycle: s0 -> s1 -> s2 -> s3 -> s4 -> ... (3000 scenes) -> s0;"
    )


def test_identical_requests_and_shared_shots_are_charged_once(project: Project) -> None:
    text = """version: 1
providers:
  u: {kind: unified}
defaults: {model: sora-2, size: 1280x720}
scenes:
  - {id: a, prompt: Same prompt, seconds: 4}
  - {id: b, prompt: Same prompt, seconds: 4}
  - id: board
    storyboard: [{prompt: Same shot, seconds: 4}, {prompt: Other shot, seconds: 4}]
  - id: cousin
    storyboard: [{prompt: Same shot, seconds: 4}, {prompt: Third shot, seconds: 4}]
"""
    plan = make_plan(manifest(project, text), FakeState())
    assert verdicts(plan)["b"] == ("render", "same request as a")
    costs = {i.scene.id: i.cost_usd for i in plan.items}
    assert costs == {"a": pytest.approx(0.4), "b": 0.0, "board": pytest.approx(0.8), "cousin": pytest.approx(0.4)}
    assert plan.total_cost_usd == pytest.approx(1.6)
