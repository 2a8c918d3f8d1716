"""What the executor reports: events while scenes run, each scene's outcome, and the failures that end them.

Light on purpose (no anyio, no httpx): a build that finds nothing to render reads only this of the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from renderkit.store.cache import Record

Phase = Literal["waiting", "creating", "created", "rendering", "downloading", "rendered", "failed", "retry", "warning"]


@dataclass(frozen=True)
class Event:
    """Something happened to one scene (or, with no scene, to the whole build); the CLI shows it."""

    scene: str
    phase: Phase
    detail: str = ""
    progress: int | None = None


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
