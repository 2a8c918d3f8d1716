"""How a plan differs from a lock: which scenes are new, changed, removed or unchanged, and what the set costs.

A pull-request comment compares the manifest with the committed lock; ``renderkit report --against`` compares
the renders of now with an older lock. Both read keys alone (and, given the lock of now, the bytes it pins), so
the answer needs no cache and no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from renderkit.plan.plan import Plan, PlanItem
from renderkit.store.lockfile import Lock, LockEntry

Change = Literal["new", "changed", "removed", "unchanged"]
CHANGES: tuple[Change, ...] = ("new", "changed", "removed", "unchanged")


@dataclass(frozen=True)
class Diff:
    """Each scene's change (manifest scenes in plan order, then the removed ones by id) and the list price of the
    video set before and after (None when a price is unknown)."""

    changes: Mapping[str, Change]
    removed: tuple[LockEntry, ...]
    before_usd: float | None
    after_usd: float | None

    def count(self, change: Change) -> int:
        """How many scenes have this change."""
        return sum(c == change for c in self.changes.values())

    @property
    def delta_usd(self) -> float | None:
        """After minus before, or None when either is unknown."""
        if self.before_usd is None or self.after_usd is None:
            return None
        return round(self.after_usd - self.before_usd, 6)


def compare(plan: Plan, old: Lock | None, now: Lock | None = None) -> Diff:
    """``plan`` against the ``old`` lock; with ``now`` (the lock of the renders on disk), a scene whose key is
    unchanged but whose bytes were rendered again (``--force``) counts as changed."""
    entries = old.entries if old is not None else {}
    changes: dict[str, Change] = {}
    before: list[float | None] = []
    for item in plan.items:
        entry = entries.get(item.scene.id)
        changes[item.scene.id] = _change(item, entry, now)
        if entry is not None:
            before.append(item.scene_price_usd if entry.key == item.key else _price(plan, entry))
    ids = {item.scene.id for item in plan.items}
    removed = tuple(entries[i] for i in sorted(set(entries) - ids))
    for entry in removed:
        changes[entry.id] = "removed"
        before.append(_price(plan, entry))
    after = [item.scene_price_usd for item in plan.items]
    return Diff(changes, removed, _sum(before), _sum(after))


def _change(item: PlanItem, entry: LockEntry | None, now: Lock | None) -> Change:
    if entry is None:
        return "new"
    if entry.key != item.key:
        return "changed"
    current = now.entries.get(item.scene.id) if now is not None else None
    if current is not None and current.key == item.key and current.sha256 != entry.sha256:
        return "changed"
    return "unchanged"


def _price(plan: Plan, entry: LockEntry) -> float | None:
    """The list price today of what a lock entry pins: its output's length at its model and size, per candidate."""
    one = plan.manifest.catalog.cost(entry.model, entry.size, entry.seconds)
    return None if one is None else round(one * max(1, len(entry.takes)), 6)


def _sum(prices: list[float | None]) -> float | None:
    return None if None in prices else round(sum(p or 0.0 for p in prices), 6)
