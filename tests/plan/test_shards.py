"""Which scenes `build --shard K/N` takes: whole groups, heaviest first, to the least loaded shard.

Plans are made from real manifests (sora-2 costs $0.10 a second, so 4, 8 and 12 seconds weigh 0.4, 0.8 and
1.2). Each expected split is worked out by hand from the rule in the README, so a change to the rule shows.
"""

from __future__ import annotations

from pathlib import Path

from renderkit.manifest.load import load_manifest
from renderkit.plan.plan import Plan, make_plan
from renderkit.plan.policy import shard_of
from renderkit.store.lockfile import Lock, LockEntry
from tests.plan.test_golden_keys import NoState


def plan_of(tmp_path: Path, scenes: str) -> Plan:
    text = "version: 1\ndefaults: {model: sora-2, size: 1280x720, seconds: 4}\nscenes:\n" + scenes
    (tmp_path / "renderkit.yaml").write_text(text, encoding="utf-8")
    return make_plan(load_manifest(tmp_path / "renderkit.yaml"), NoState())


def split(plan: Plan, n: int, lock: Lock | None = None) -> list[set[str]]:
    shards = [shard_of(plan, (k, n), lock) for k in range(1, n + 1)]
    everything = {item.scene.id for item in plan.items}
    assert set().union(*shards) == everything, "together the shards cover every scene"
    assert sum(len(s) for s in shards) == len(everything), "and no scene is in two shards"
    return shards


def pin(plan: Plan, *scene_ids: str, key: str | None = None) -> Lock:
    """A lock that pins these scenes (to their current keys, or to ``key``)."""
    entries = {}
    for item in plan.items:
        if item.scene.id in scene_ids:
            entries[item.scene.id] = LockEntry(
                item.scene.id, key or item.key, "simulator", "sora-2", "1280x720", 4, "t", "f", "0" * 64, 1
            )
    return Lock(entries)


FOUR = """\
  - {id: a, prompt: one, seconds: 12}
  - {id: b, prompt: two, seconds: 8}
  - {id: c, prompt: three}
  - {id: d, prompt: four}
"""


def test_groups_go_heaviest_first_to_the_least_loaded_shard(tmp_path: Path) -> None:
    # a (1.2) -> 1; b (0.8) -> 2; c (0.4) -> 2, now 1.2 like 1; d (0.4) -> 1 (equal cost, fewer scenes)
    assert split(plan_of(tmp_path, FOUR), 2) == [{"a", "d"}, {"b", "c"}]


def test_three_shards_balance_the_cost(tmp_path: Path) -> None:
    # a -> 1 (1.2); b -> 2 (0.8); c -> 3 (0.4); d -> 3, the least loaded (0.4)
    assert split(plan_of(tmp_path, FOUR), 3) == [{"a"}, {"b"}, {"c", "d"}]


def test_a_scene_the_lock_pins_weighs_nothing(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, FOUR)
    # a weighs 0: b (0.8) -> 1; c (0.4) -> 2; d (0.4) -> 2 (0.4 < 0.8); a (0) -> 1 (0.8 with 1 scene < 0.8 with 2)
    assert split(plan, 2, pin(plan, "a")) == [{"a", "b"}, {"c", "d"}]


def test_a_scene_the_lock_pins_to_another_key_still_renders_and_weighs_its_cost(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, FOUR)
    assert split(plan, 2, pin(plan, "a", key="f" * 64)) == [{"a", "d"}, {"b", "c"}]


def test_a_scene_its_upstream_and_the_same_request_elsewhere_stay_in_one_shard(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        """\
  - {id: day, prompt: a city}
  - {id: night, remix_of: day, prompt: at night}
  - {id: later, continue_from: night, prompt: later still}
  - {id: copy, prompt: a city}
  - {id: big, prompt: big, seconds: 12}
  - {id: mid, prompt: mid, seconds: 8}
""",
    )
    # {day, night, later, copy} weighs 1.6 (each scene at its price, though copy shares day's render) and goes
    # first, alone; big (1.2) goes to the other shard, and mid (0.8) joins it there.
    shards = split(plan, 2)
    assert {"day", "night", "later", "copy"} in shards
    assert shards == [{"day", "night", "later", "copy"}, {"big", "mid"}]


def test_equal_weights_go_larger_group_first_then_by_name(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        """\
  - {id: r, prompt: r}
  - {id: s, prompt: s}
  - {id: p, prompt: p}
  - {id: q, remix_of: p, prompt: q}
""",
    )
    lock = pin(plan, "p", "q", "r", "s")  # all pinned: every group weighs nothing
    # {p, q} (2 scenes) -> 1; r -> 2; s -> 2 (both empty, 2 holds fewer scenes)
    assert split(plan, 2, lock) == [{"p", "q"}, {"r", "s"}]


def test_a_group_is_named_by_its_first_scene_id_when_weights_and_sizes_tie(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        """\
  - {id: m, prompt: m}
  - {id: n, remix_of: m, prompt: n}
  - {id: a, prompt: a}
  - {id: z, remix_of: a, prompt: z}
""",
    )
    # Both groups weigh 0.8 with 2 scenes: the group of "a" goes first.
    assert split(plan, 2) == [{"a", "z"}, {"m", "n"}]
    assert split(plan, 2, pin(plan, "a", "z", "m", "n")) == [{"a", "z"}, {"m", "n"}]


def test_more_shards_than_groups_leave_the_extra_shards_empty(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "  - {id: a, prompt: one}\n  - {id: b, remix_of: a, prompt: two}\n")
    assert split(plan, 3) == [{"a", "b"}, set(), set()]


def test_a_scene_of_unknown_cost_weighs_nothing(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        """\
  - {id: a, prompt: one, model: house-model-1}
  - {id: b, prompt: two}
  - {id: c, prompt: three}
""",
    )
    # b (0.4) -> 1; c (0.4) -> 2; a (0) -> 1 (equal cost and scenes: the lower shard)
    assert split(plan, 2) == [{"a", "b"}, {"c"}]


def test_two_scenes_with_the_same_request_go_to_one_shard(tmp_path: Path) -> None:
    # Alone, a (0.4) and b (0.4) would go one to each shard, and each machine would pay for the same render.
    plan = plan_of(tmp_path, "  - {id: a, prompt: same}\n  - {id: b, prompt: same}\n  - {id: c, prompt: other}\n")
    # {a, b} (0.8, its one render at each scene's price) -> 1; c (0.4) -> 2
    assert split(plan, 2) == [{"a", "b"}, {"c"}]


def test_one_long_scene_balances_three_short_ones(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        """\
  - {id: a, prompt: one, seconds: 12}
  - {id: b, prompt: two}
  - {id: c, prompt: three}
  - {id: d, prompt: four}
""",
    )
    # a (1.2) -> 1; b (0.4) -> 2; c -> 2 (0.4 < 1.2); d -> 2 (0.8 < 1.2): the shards weigh cost, not groups
    assert split(plan, 2) == [{"a"}, {"b", "c", "d"}]


def test_with_every_weight_equal_a_large_group_balances_several_small_ones(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        """\
  - {id: p, prompt: p}
  - {id: q, remix_of: p, prompt: q}
  - {id: r, remix_of: p, prompt: r}
  - {id: x, prompt: x}
  - {id: y, prompt: y}
  - {id: z, prompt: z}
""",
    )
    lock = pin(plan, "p", "q", "r", "x", "y", "z")  # all pinned: every group weighs nothing
    # {p, q, r} -> 1 (3 scenes); x -> 2; y -> 2 (1 scene < 3); z -> 2 (2 < 3). Were each group counted one
    # scene more than it holds, z would find 4 against 4 and go to shard 1.
    assert split(plan, 2, lock) == [{"p", "q", "r"}, {"x", "y", "z"}]
