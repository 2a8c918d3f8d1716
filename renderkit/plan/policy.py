"""What a build may pay for: the --frozen promise, the cost caps, and which scenes a shard takes.

Each check runs on a plan before anything is sent, and again on the plan made under the build lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from renderkit.errors import RefusedError
from renderkit.plan.plan import Plan, PlanItem
from renderkit.store.lockfile import Lock


def shard_of(plan: Plan, shard: tuple[int, int], lock: Lock | None) -> set[str]:
    """Scene ids in shard K of N, balanced on the estimated cost of what will render.

    A scene, its candidates (takes), the scene it builds on and any scene with the same request form one group,
    which one shard takes whole (shards run on different machines; splitting them would pay twice or wait
    forever). The set holds the ids of the candidates that are not the pick as well. What will render
    is read against the committed lock, not the local cache, so every machine computes the same split: a
    scene whose key the lock pins weighs nothing. Groups go heaviest first to the least loaded shard.
    """
    renders = plan.renders
    parent: dict[str, str] = {item.scene.id: item.scene.id for item in renders}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(x: str, y: str) -> None:
        a, b = root(x), root(y)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[str, str] = {}
    for item in renders:
        for dep in (*item.depends_on, *([item.scene.of] if item.scene.of else [])):
            join(item.scene.id, dep)
        join(item.scene.id, first.setdefault(item.key, item.scene.id))
    weight: dict[str, float] = {}
    size: dict[str, int] = {}
    for item in renders:
        group = root(item.scene.id)
        paid = item.key not in pinned_keys(lock, item.scene.of or item.scene.id)
        weight[group] = weight.get(group, 0.0) + ((item.price_usd or 0.0) if paid else 0.0)
        size[group] = size.get(group, 0) + 1
    k, n = shard
    load = [(0.0, 0, index) for index in range(n)]
    chosen: dict[str, int] = {}
    for group in sorted(weight, key=lambda g: (-weight[g], -size[g], g)):
        cost, count, index = min(load)
        chosen[group] = index
        load[index] = (round(cost + weight[group], 6), count + size[group], index)
    return {sid for sid in parent if chosen[root(sid)] == k - 1}


def pinned_keys(lock: Lock | None, scene_id: str) -> set[str]:
    """The render keys the lock pins for a scene: its output's, and those of its candidates when it has takes."""
    entry = lock.entries.get(scene_id) if lock is not None else None
    return set() if entry is None else {entry.key, *(t.key for t in entry.takes)}


def refuse_frozen(plan: Plan, lock: Lock | None, lock_name: str) -> None:
    """RefusedError unless the lock matches the manifest and every output it pins is at hand; says which.

    The candidates of a scene with takes must be pinned too (else the manifest changed), but need not be at hand:
    no output needs the ones that were not picked.
    """
    if lock is None:
        raise RefusedError(f"--frozen: there is no {lock_name}; run `renderkit build` without --frozen first")
    ids = {i.scene.id for i in plan.items}
    stale = sorted(
        {
            i.scene.id
            for i in plan.items
            if i.scene.id not in lock.entries
            or lock.entries[i.scene.id].key != i.key
            or not {r.key for r in i.takes} <= pinned_keys(lock, i.scene.id)
        }
        | (set(lock.entries) - ids)
    )
    if stale:
        raise RefusedError(
            f"--frozen: {lock_name} is stale: the manifest changed for {_some(stale)} since it was written; "
            "nothing was sent. Run `renderkit plan` to see what changed, then build without --frozen"
        )
    missing = sorted(i.scene.id for i in plan.items if i.status != "cached")
    if missing:
        raise RefusedError(
            f"--frozen: {lock_name} is current, but the renders of {_some(missing)} are available neither in the "
            "cache, nor as the outputs the lock pins, nor on the remote; nothing was sent. Restore them "
            "(`renderkit pull`, or the outputs) or build without --frozen to render them again"
        )


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:10])
    return f"{len(ids)} scene(s) ({shown}{', …' if len(ids) > 10 else ''})"


def refuse_budget(todo: Sequence[PlanItem], budget: float | None, max_cost: float | None) -> None:
    """RefusedError when what ``todo`` would pay for exceeds the lower of the caps, or cannot be estimated."""
    caps = [c for c in (budget, max_cost) if c is not None]
    if not caps or not todo:
        return
    cap = min(caps)
    unknown = [i for i in todo if i.cost_usd is None]
    if unknown:
        ids = ", ".join(sorted(i.scene.id for i in unknown))
        model = unknown[0].request.model
        raise RefusedError(
            f"a cost cap of ${cap:.2f} is set but the cost of {ids} is unknown (renderkit has no price for "
            f"{model}); nothing was sent. Declare the price in the manifest, e.g. `models: {{{model}: "
            "{usd_per_second: 0.1}}`, or build without a cap"
        )
    total = sum(i.cost_usd or 0.0 for i in todo)
    if total > cap + 1e-9:
        which = "budget" if cap == budget else "--max-cost"
        raise RefusedError(
            f"this build would cost ${total:.2f}, over the {which} of ${cap:.2f}; nothing was sent. "
            "Raise the cap, or build fewer scenes (--shard, or fewer changes)"
        )
