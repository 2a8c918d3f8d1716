"""What the executor is given and what it reports: jobs, per-provider runtimes, events and outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import anyio

from renderkit.execute.pacing import Backoff, Clock, TokenBucket
from renderkit.providers.base import Provider
from renderkit.request import Request
from renderkit.store.cache import Cache, Record
from renderkit.store.journal import Journal

Phase = Literal["waiting", "creating", "created", "rendering", "downloading", "rendered", "failed", "retry", "warning"]

DEFAULT_DEADLINE = 3600.0


@dataclass(frozen=True)
class Event:
    """Something happened to one scene (or, with no scene, to the whole build); the CLI shows it."""

    scene: str
    phase: Phase
    detail: str = ""
    progress: int | None = None


@dataclass
class ProviderRuntime:
    """One provider and its pacing, shared by every scene that uses it."""

    provider: Provider
    kind: str
    slots: anyio.CapacityLimiter
    creates: TokenBucket
    polls: TokenBucket
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

    @property
    def length(self) -> int:
        """How long the finished video is, in seconds."""
        return self.request.seconds if self.duration is None else self.duration


@dataclass
class Outcome:
    """How one scene ended."""

    scene_id: str
    key: str
    record: Record | None = None
    error: str | None = None
    task_id: str | None = None
    shared_with: str | None = None  # the scene whose identical render this one reused (paid once)
    paid: bool = False  # this build's create made the render (not a task resumed or recovered from before)


class SceneFailed(Exception):
    """One scene cannot finish in this build; the message says what to do."""


class StorageFailed(Exception):
    """The disk refused a write renderkit cannot do without (journal, cache, temp file): the build stops."""

    def __init__(self, exc: OSError, unjournaled: str | None = None) -> None:
        where = exc.filename or "the cache"
        paid = (
            f"task {unjournaled} was created and paid for but could not be journaled; note its id. "
            if unjournaled
            else "tasks already paid for are journaled, so a rerun resumes them without paying again. "
        )
        super().__init__(
            f"cannot write {where}: {exc.strerror or exc}; the build stopped. {paid}"
            "Free some space or fix the permissions, then run the build again"
        )


class ProviderUnusable(Exception):
    """The provider refused the API key (401/403) or cannot be reached at all: every other create would fail the
    same way, so the build stops with one message."""


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
