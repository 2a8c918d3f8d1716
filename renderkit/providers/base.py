"""The provider protocol: create, poll, download, and optional list/remix/extend.

Providers translate one wire family into these types and map every transport or HTTP failure into
``renderkit.errors.ProviderError`` (with ``retryable``, ``retry_after``, ``maybe_sent``). Retrying, rate
limiting and caching are the executor's job, never a provider's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from renderkit.request import Request

Status = Literal["queued", "running", "completed", "failed"]


@dataclass(frozen=True)
class ImageInput:
    """A reference image: a local file's bytes or an https URL."""

    data: bytes | None = None
    mime: str = "image/png"
    filename: str = "reference.png"
    url: str | None = None


@dataclass(frozen=True)
class CreateRequest:
    """One create as the wire carries it: the render request, and what only the build knows when it sends it.

    ``image`` is the reference image ready to send (a fitted file's bytes, a continued scene's last frame, or a
    URL); ``source_task`` is the task a remix or an extension (``render.link``) is made from.
    """

    render: Request
    image: ImageInput | None = None
    source_task: str | None = None


@dataclass(frozen=True)
class TaskState:
    """A provider's answer about one task, normalised across every response shape."""

    task_id: str
    status: Status
    raw_status: str = ""
    progress: int | None = None
    result_url: str | None = None
    error: str | None = None
    error_code: str | None = None
    poll_after: float | None = None
    expires_at: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


class DownloadSink(Protocol):
    """Where a download's bytes go; ``offset`` is how many bytes are already held (for Range)."""

    @property
    def offset(self) -> int: ...

    def write(self, chunk: bytes) -> None: ...

    def reset(self) -> None:
        """Drop what is held: the server ignored the Range request and is sending from byte 0."""


class Provider(Protocol):
    """One wire family of video routes; what it may be asked for is its row in ``renderkit.catalog.kinds``."""

    kind: str

    async def create(self, request: CreateRequest) -> TaskState:
        """Start a paid render; raises ProviderError with ``maybe_sent`` when the outcome is unknown."""
        ...

    async def poll(self, task_id: str) -> TaskState:
        """Return the task's current state."""
        ...

    async def download(self, state: TaskState, sink: DownloadSink) -> None:
        """Stream the finished video into ``sink``, resuming at ``sink.offset`` where the server allows."""
        ...

    async def list_tasks(self, since: int) -> list[TaskState]:
        """Tasks created at or after unix time ``since`` (kinds with ``list`` only), for reconciliation."""
        ...
