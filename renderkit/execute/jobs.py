"""What the executor is given: jobs, per-provider runtimes, and the context its parts share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from renderkit.execute.events import Event
from renderkit.execute.pacing import Backoff, Clock, RateLimiter
from renderkit.providers.base import Provider
from renderkit.request import Request
from renderkit.store.cache import Cache
from renderkit.store.journal import Journal

DEFAULT_DEADLINE = 3600.0


@dataclass
class ProviderRuntime:
    """One provider and its pacing, shared by every scene that uses it."""

    provider: Provider
    kind: str
    slots: anyio.CapacityLimiter
    creates: RateLimiter
    polls: RateLimiter
    poll_interval: float | None = None
    deadline: float = DEFAULT_DEADLINE
    # The first create goes alone: until it is answered the key is unproven, and a refused key must be refused
    # once, not by every create sent at the same moment.
    answered: anyio.Event = field(default_factory=anyio.Event)
    probe: str | None = None  # the key of the create that goes first


@dataclass(frozen=True)
class ShotJob:
    """One storyboard shot rendered as its own task (kinds without a native storyboard)."""

    key: str
    request: Request


@dataclass(frozen=True)
class Job:
    """One scene to render: its request (with its upstream's key), and the scene it builds on, if any."""

    scene_id: str
    key: str
    request: Request
    provider: str
    depends_on: tuple[str, ...] = ()
    upstream: str | None = None  # the scene named by the request's link (remix_of, continue_from, extend_of)
    shots: tuple[ShotJob, ...] = ()
    duration: int | None = None  # the video's length when it is not request.seconds (an extension's total)
    # Where the build will copy the render once it is stored (an output's temp): the download writes it as it
    # comes instead, so that no gigabyte-sized copy is left to make after the last byte.
    copy_to: Path | None = None

    @property
    def length(self) -> int:
        """How long the finished video is, in seconds."""
        return self.request.seconds if self.duration is None else self.duration


@dataclass
class Context:
    """What every part of the executor shares: the cache, the journal, progress, and time."""

    cache: Cache
    journal: Journal
    on_event: Callable[[Event], None]
    clock: Clock
    backoff: Backoff

    async def record(self, step: Callable[..., None], *args: str) -> None:
        """Append to the journal (an fsync) off the event loop."""
        await anyio.to_thread.run_sync(step, *args)
