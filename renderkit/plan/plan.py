"""The plan: which scenes are cached, which render and which wait on an upstream render, why, and at what cost.

Computed from the manifest, the input files and what the cache and the lock hold; it sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from renderkit.catalog.kinds import KINDS
from renderkit.manifest.collector import gc_paused
from renderkit.manifest.model import Manifest, Scene
from renderkit.request import Request

__all__ = ["Plan", "PlanItem", "Previous", "ShotPlan", "State", "make_plan"]

Status = Literal["cached", "render", "blocked", "resume"]


@dataclass(frozen=True)
class Previous:
    """What a scene rendered last time: its key, its request when the cache index still has it, and whether the
    output file the lock pins is at hand (committed or restored), which a build adopts instead of paying."""

    key: str
    request: Mapping[str, object] | None
    output: Callable[[], bool] = lambda: False  # asked only for a scene not in the cache: it costs a stat


class State(Protocol):
    """What the plan reads from the cache index and the lock."""

    def cached(self, key: str) -> bool:
        """The cache holds a finished, usable render for ``key`` (a cheap check)."""
        ...

    def previous(self, scene_id: str) -> Previous | None:
        """What the scene rendered last time, or None for a new scene."""
        ...

    def paid(self, key: str) -> str | None:
        """The task id a build journaled for ``key`` and has not finished, or None: resuming it costs nothing."""
        ...


@dataclass(frozen=True)
class ShotPlan:
    """One shot of a storyboard rendered shot by shot: its own key, and whether the cache already holds it."""

    key: str
    request: Request
    cached: bool
    cost_usd: float | None


@dataclass(frozen=True)
class PlanItem:
    """One render's verdict; blocked renders have keys too (keys come from requests, not outputs).

    ``shots`` is set on storyboards rendered shot by shot; their cost counts only the shots not cached. A scene
    with takes is the item of its picked candidate, with the other candidates as ``others``: items like any
    other, whose hidden scenes (``ID@takeN``) are rendered and cached but never written as outputs.
    """

    scene: Scene
    key: str
    request: Request  # the scene's request with its upstream's key filled in
    status: Status
    reason: str
    cost_usd: float | None
    depends_on: tuple[str, ...]
    shots: tuple[ShotPlan, ...] = ()
    price_usd: float | None = None  # what rendering it costs whatever the cache holds (shards balance on it)
    others: tuple[PlanItem, ...] = ()

    @property
    def renders(self) -> tuple[PlanItem, ...]:
        """This item and its other candidates."""
        return (self, *self.others)

    @property
    def takes(self) -> tuple[PlanItem, ...]:
        """Every candidate in take order (the pick among them), or () for a scene without takes."""
        return tuple(sorted(self.renders, key=lambda r: r.scene.take or 0)) if self.scene.takes > 1 else ()

    @property
    def scene_status(self) -> Status:
        """The scene's status counting every candidate: the pick's, unless it is cached and another is not."""
        return next((r.status for r in self.renders if r.status != "cached"), "cached")

    @property
    def scene_cost_usd(self) -> float | None:
        """What this build would pay for the scene: every candidate; None when any cost is unknown."""
        return _total(r.cost_usd for r in self.renders)

    @property
    def scene_price_usd(self) -> float | None:
        """What the scene's renders cost, cached or not (every candidate); None when any price is unknown."""
        return _total(r.price_usd for r in self.renders)


@dataclass(frozen=True)
class Plan:
    """Every scene in dependency order (upstream first) and the estimated cost of what would render."""

    manifest: Manifest
    items: tuple[PlanItem, ...]  # one per scene of the manifest
    total_cost_usd: float
    unknown_cost: tuple[str, ...]

    @property
    def renders(self) -> tuple[PlanItem, ...]:
        """Every render the manifest asks for: each scene's, and the other candidates of scenes with takes."""
        return tuple(r for item in self.items for r in item.renders)

    @property
    def to_render(self) -> tuple[PlanItem, ...]:
        """Renders a build has to work on (render, blocked and resume); only render and blocked are paid for."""
        return tuple(r for r in self.renders if r.status != "cached")


def make_plan(manifest: Manifest, state: State, *, force: Collection[str] = ()) -> Plan:
    """Plan ``manifest`` against ``state``; ``force`` names scenes to render even when cached."""
    with gc_paused():
        return _plan(manifest, state, force)


def _plan(manifest: Manifest, state: State, force: Collection[str]) -> Plan:
    items: dict[str, PlanItem] = {}
    # A build renders each key once (scenes and shots with one request share the render), so each is paid once.
    paying: dict[str, str] = {}
    for scene in dependency_order(manifest.scenes):
        upstream = items[scene.upstream] if scene.upstream is not None else None
        item = _item(manifest, scene, upstream, state, force, paying)
        others = tuple(_item(manifest, s, upstream, state, force, paying) for s in scene.other_takes())
        items[scene.id] = replace(item, others=others) if others else item
    ordered = tuple(items.values())
    paid = [r for i in ordered for r in i.renders if r.status != "cached"]
    return Plan(
        manifest=manifest,
        items=ordered,
        total_cost_usd=round(sum(r.cost_usd for r in paid if r.cost_usd is not None), 6),
        unknown_cost=tuple(dict.fromkeys(r.scene.of or r.scene.id for r in paid if r.cost_usd is None)),
    )


def _item(
    manifest: Manifest,
    scene: Scene,
    upstream: PlanItem | None,
    state: State,
    force: Collection[str],
    paying: dict[str, str],
) -> PlanItem:
    """The verdict on one render: a scene, or one candidate of a scene with takes."""
    prices = manifest.catalog
    request = scene.request if upstream is None else replace(scene.request, upstream_key=upstream.key)
    key = request.key
    status, reason = _verdict(scene, request, upstream, state, force)
    # An extension pays for the seconds it adds; a remix of one for the whole video it remakes.
    seconds = request.seconds if request.link == "extend_of" else scene.duration
    cost = price = prices.cost(request.model, request.size, seconds)
    shots: tuple[ShotPlan, ...] = ()
    if emulated(request):
        shots = tuple(
            ShotPlan(
                r.key,
                r,
                state.cached(r.key),
                0.0 if state.paid(r.key) else prices.cost(r.model, r.size, r.seconds),
            )
            for r in request.shot_requests()
        )
        costs = [s.cost_usd for s in shots if not s.cached and s.key not in paying]
        cost = None if None in costs else round(sum(c or 0.0 for c in costs), 6)
        every = [s.cost_usd for s in shots]
        price = None if None in every else round(sum(c or 0.0 for c in every), 6)
    if status in ("render", "blocked") and key in paying:
        reason, cost = f"same request as {paying[key]}", 0.0
    elif status in ("render", "blocked"):
        paying[key] = scene.id
        for shot in shots:
            if not shot.cached:
                paying.setdefault(shot.key, scene.id)
    return PlanItem(
        scene=scene,
        key=key,
        request=request,
        status=status,
        reason=reason,
        cost_usd=0.0 if status in ("cached", "resume") else cost,
        depends_on=() if upstream is None else (upstream.scene.id,),
        shots=shots,
        price_usd=price,
    )


def _total(costs: Iterable[float | None]) -> float | None:
    values = list(costs)
    return None if None in values else round(sum(v or 0.0 for v in values), 6)


def emulated(request: Request) -> bool:
    """Whether the request's storyboard renders shot by shot and is stitched (its kind takes no native one)."""
    return bool(request.storyboard) and not KINDS[request.kind].storyboard


def dependency_order(scenes: tuple[Scene, ...]) -> list[Scene]:
    """Scenes with every upstream before its dependents, otherwise in manifest order."""
    by_id = {s.id: s for s in scenes}
    done: set[str] = set()
    out: list[Scene] = []
    for scene in scenes:
        chain: list[Scene] = []
        current: Scene | None = scene
        while current is not None and current.id not in done:
            chain.append(current)
            done.add(current.id)
            current = by_id[current.upstream] if current.upstream is not None else None
        out.extend(reversed(chain))
    return out


def _verdict(
    scene: Scene, request: Request, upstream: PlanItem | None, state: State, force: Collection[str]
) -> tuple[Status, str]:
    if scene.id in force or scene.of in force:
        return "render", "forced"
    key = request.key
    # A candidate compares with what its scene rendered last time: the pick then.
    previous = state.previous(scene.of or scene.id)
    if state.cached(key):
        same = previous is not None and previous.key == key
        if scene.takes > 1:
            picked_now = previous is not None and not same and scene.of is None
            return "cached", f"take {scene.take} is cached" + ("; picked now" if picked_now else "")
        return "cached", "unchanged" if same else "same request as a cached render"
    if previous is not None and previous.key == key and previous.output():
        return "cached", "the output is the file the lock pins (a build adopts it)"
    task = state.paid(key)
    if task is not None:
        return "resume", f"task {task} is already paid for; the build resumes it"
    blocked = upstream is not None and upstream.status != "cached"
    changes = _changes(scene, key, request.identity(), previous, upstream_changes=not blocked)
    if scene.takes > 1 and previous is not None and previous.key != key:
        # Candidates differ from one another by take alone, which is no news: say what else changed.
        changes = [c for c in changes if c != "take changed"] or [f"take {scene.take} is new"]
    if upstream is not None and blocked:
        waits = f"upstream {upstream.scene.id} re-renders"
        return "blocked", f"{waits}; {', '.join(changes)}" if changes else waits
    return "render", ", ".join(changes) or "request changed"


def _changes(
    scene: Scene, key: str, request: Mapping[str, object], previous: Previous | None, *, upstream_changes: bool
) -> list[str]:
    """Field-level reasons why ``request`` differs from what the scene rendered last time."""
    if previous is None:
        return ["new scene"]
    if previous.key == key:
        return ["not in the cache"]
    if previous.request is None:
        return ["request changed"]
    old = previous.request
    out: list[str] = []
    for name in ("key_version", "kind", "model", "size", "seconds"):
        if old.get(name) != request.get(name):
            label = {"key_version": "key format", "kind": "provider kind"}.get(name, name)
            out.append(f"{label} {old.get(name)} -> {request.get(name)}")
    for name, what in (
        ("prompt", "prompt changed"),
        ("take", "take changed"),
        ("image", "input image changed"),
        ("storyboard", "storyboard changed"),
    ):
        if old.get(name) != request.get(name):
            out.append(what)
    if upstream_changes:
        for name, gone in (
            ("remix_of", "no longer a remix"),
            ("continue_from", "no longer a continuation"),
            ("extend_of", "no longer an extension"),
        ):
            if old.get(name) != request.get(name):
                out.append(f"upstream {scene.upstream} changed" if request.get(name) else gone)
    return out
