"""What a build may pay for: the --frozen promise, the cost caps, and which scenes a shard takes.

Each check runs on a plan before anything is sent, and again on the plan made under the build lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from renderkit.errors import RefusedError
from renderkit.plan.plan import Plan, PlanItem
from renderkit.store.lockfile import Lock


def shard_of(plan: Plan, shard: tuple[int, int]) -> set[str]:
    """Scene ids in shard K of N; a scene, what it builds on and any scene with the same request share a shard.

    Shards of one plan run on different machines, so splitting two scenes with one request would pay twice.
    """
    parent: dict[str, str] = {item.scene.id: item.scene.id for item in plan.items}

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
    for item in plan.items:
        for dep in item.depends_on:
            join(item.scene.id, dep)
        join(item.scene.id, first.setdefault(item.key, item.scene.id))
    k, n = shard
    return {sid for sid in parent if int(hashlib.sha256(root(sid).encode()).hexdigest()[:8], 16) % n == k - 1}


def refuse_frozen(plan: Plan, lock: Lock | None, lock_name: str) -> None:
    """RefusedError unless the lock matches the manifest and every scene is cached."""
    if lock is None:
        raise RefusedError(f"--frozen: there is no {lock_name}; run `renderkit build` without --frozen first")
    stale = sorted(
        {i.scene.id for i in plan.items if i.status != "cached"}
        | {i.scene.id for i in plan.items if i.scene.id not in lock.entries or lock.entries[i.scene.id].key != i.key}
        | (set(lock.entries) - {i.scene.id for i in plan.items})
    )
    if stale:
        shown = ", ".join(stale[:10]) + (" …" if len(stale) > 10 else "")
        raise RefusedError(
            f"--frozen: the lock is stale or {len(stale)} scene(s) would render ({shown}); "
            "nothing was sent. Run `renderkit plan` to see why, then build without --frozen"
        )


def refuse_budget(todo: Sequence[PlanItem], budget: float | None, max_cost: float | None) -> None:
    """RefusedError when what ``todo`` would pay for exceeds the lower of the caps, or cannot be estimated."""
    caps = [c for c in (budget, max_cost) if c is not None]
    if not caps or not todo:
        return
    cap = min(caps)
    unknown = sorted(i.scene.id for i in todo if i.cost_usd is None)
    if unknown:
        raise RefusedError(
            f"a cost cap of ${cap:.2f} is set but the cost of {', '.join(unknown)} cannot be estimated "
            "(unknown model); nothing was sent. Remove the cap for this build or use a catalogued model"
        )
    total = sum(i.cost_usd or 0.0 for i in todo)
    if total > cap + 1e-9:
        which = "budget" if cap == budget else "--max-cost"
        raise RefusedError(
            f"this build would cost ${total:.2f}, over the {which} of ${cap:.2f}; nothing was sent. "
            "Raise the cap, or build fewer scenes (--shard, or fewer changes)"
        )
