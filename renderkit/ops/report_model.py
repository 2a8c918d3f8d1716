"""What a report page shows, as plain values: ``renderkit.ops.report`` gathers them, ``report_html`` writes them."""

from __future__ import annotations

from dataclasses import dataclass

from renderkit.plan.diff import Change, Diff
from renderkit.plan.plan import Plan


@dataclass(frozen=True)
class Video:
    """One render as the page shows it: a playable file and its poster, or why there is none."""

    src: str | None  # relative URL
    poster: str | None
    sha256: str | None = None
    task_id: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ShotView:
    """One storyboard shot: what the manifest says, and for a storyboard rendered shot by shot, its render."""

    prompt: str
    seconds: int
    key: str | None = None
    task_id: str | None = None
    sha256: str | None = None
    thumb: str | None = None


@dataclass(frozen=True)
class Tile:
    """One render on the contact sheet: a scene's, one candidate of a scene with takes, or a removed scene's."""

    id: str  # the scene id, or ID@takeN for a candidate that is not the pick
    scene: str
    prompt: str
    model: str
    size: str
    seconds: int
    status: str
    reason: str
    price_usd: float | None  # what the render costs at list price
    key: str
    video: Video
    take: int | None = None
    picked: bool = False
    link: str | None = None
    upstream: str | None = None
    shots: tuple[ShotView, ...] = ()
    shot_renders: bool = False  # the shots are renders of their own (a storyboard rendered shot by shot)
    change: Change | None = None
    before: Video | None = None  # the render the older lock pins, for a changed scene
    before_prompt: str | None = None


@dataclass(frozen=True)
class SceneView:
    """One scene: its tile, or a tile per candidate when it has takes."""

    id: str
    tiles: tuple[Tile, ...]
    change: Change | None


@dataclass(frozen=True)
class Page:
    """Everything the page shows, grouped into continuity chains (upstream first)."""

    title: str
    chains: tuple[tuple[SceneView, ...], ...]
    removed: tuple[Tile, ...]
    plan: Plan
    diff: Diff | None
    against: str | None
