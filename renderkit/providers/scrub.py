"""Keep the API key out of everything a provider sends back: a gateway that echoes it in an error message, a
failed task's reason or a status word must not put it on screen, in --json, in the journal or in an exception.

Every adapter is wrapped in ``Scrubbed`` when it is opened, so no caller can forget.
"""

from __future__ import annotations

import base64
from dataclasses import replace

from renderkit.errors import ProviderError
from renderkit.providers.base import CreateRequest, DownloadSink, Provider, TaskState

MASK = "[redacted key]"
# A value this short is not a secret worth the damage of rewriting every message it happens to occur in.
_SHORTEST = 8


def secret_forms(key: str) -> tuple[str, ...]:
    """The key as it may come back: plain, and base64 (standard and URL-safe, padded or not), longest first."""
    forms = {key}
    raw = key.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode("ascii")
        forms |= {text, text.rstrip("=")}
    return tuple(sorted((f for f in forms if len(f) >= _SHORTEST), key=len, reverse=True))


def scrub(text: str, forms: tuple[str, ...]) -> str:
    """``text`` with every form of the key replaced by a mask."""
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


class Scrubbed:
    """A provider whose every answer and error has the key taken out."""

    def __init__(self, inner: Provider, api_key: str) -> None:
        self.inner = inner
        self.kind = inner.kind
        self._forms = secret_forms(api_key)

    def __repr__(self) -> str:
        return repr(self.inner)

    def _state(self, state: TaskState) -> TaskState:
        def clean(value: str | None) -> str | None:
            return None if value is None else scrub(value, self._forms)

        return replace(
            state,
            raw_status=scrub(state.raw_status, self._forms),
            error=clean(state.error),
            error_code=clean(state.error_code),
        )

    def _error(self, exc: ProviderError) -> ProviderError:
        return ProviderError(
            scrub(str(exc), self._forms),
            status=exc.status,
            code=None if exc.code is None else scrub(exc.code, self._forms),
            retryable=exc.retryable,
            retry_after=exc.retry_after,
            maybe_sent=exc.maybe_sent,
            expired=exc.expired,
        )

    async def create(self, request: CreateRequest) -> TaskState:
        """Start a paid render."""
        try:
            return self._state(await self.inner.create(request))
        except ProviderError as exc:
            raise self._error(exc) from None

    async def poll(self, task_id: str) -> TaskState:
        """Return the task's current state."""
        try:
            return self._state(await self.inner.poll(task_id))
        except ProviderError as exc:
            raise self._error(exc) from None

    async def download(self, state: TaskState, sink: DownloadSink) -> None:
        """Stream the finished video into ``sink``."""
        try:
            await self.inner.download(state, sink)
        except ProviderError as exc:
            raise self._error(exc) from None

    async def list_tasks(self, since: int) -> list[TaskState]:
        """Tasks created at or after ``since``."""
        try:
            return [self._state(s) for s in await self.inner.list_tasks(since)]
        except ProviderError as exc:
            raise self._error(exc) from None
