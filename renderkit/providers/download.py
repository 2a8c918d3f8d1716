"""Stream a finished video into a sink: result URL first, the content route if that URL has expired.

Memory stays flat in the file size (the body streams through), a held prefix is resumed with ``Range``, a body
shorter than the server announced is a retryable error, never a silently truncated file, and a body that is too
large, too slow or too long in coming is cut at a named limit (``Limits``).
"""

from __future__ import annotations

import contextlib
import re
import time
from urllib.parse import urljoin

import httpx

from renderkit.errors import ProviderError
from renderkit.providers.base import DownloadSink, TaskState
from renderkit.providers.http import (
    MAX_ANSWER_BYTES,
    NOT_SENT,
    Limits,
    TooLarge,
    Wire,
    body_pieces,
    read_capped,
    redact,
)

# A signed result URL that answers these has expired or was revoked; the content route may still serve the video.
_RESULT_GONE = frozenset({401, 403, 404, 410})
_CONTENT_GONE = frozenset({404, 410})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


async def download_result(wire: Wire, state: TaskState, sink: DownloadSink, *, content_path: str) -> None:
    """Download ``state``'s video into ``sink``; raise ``ProviderError(expired=True)`` if the provider lost it."""
    content_url = wire.url(content_path)
    result_url = urljoin(wire.base_url + "/", state.result_url) if state.result_url else None
    if result_url and redact(result_url) != content_url:
        if await _fetch(wire, result_url, sink, gone=_RESULT_GONE, params=None) is None:
            return
    status = await _fetch(wire, content_url, sink, gone=_CONTENT_GONE, params={"variant": "video"})
    if status is not None:
        raise ProviderError(
            f"{wire.provider}: the provider no longer has the video of task {state.task_id} (its content route "
            f"answered HTTP {status}); the result has expired. Rendering it again is a new, paid render, so "
            "renderkit does it only if you ask (for example with --force)",
            status=status,
            code="expired",
            expired=True,
        )


async def _fetch(
    wire: Wire, url: str, sink: DownloadSink, *, gone: frozenset[int], params: dict[str, str] | None
) -> int | None:
    """Stream ``url`` into ``sink``; return the status instead when it is one of ``gone``."""
    what = f"GET {redact(url)}"
    headers = {"Accept-Encoding": "identity"}
    start = sink.offset
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    try:
        async with wire.client.stream(
            "GET", url, headers=headers, params=params, auth=wire.auth_for(url), follow_redirects=True
        ) as response:
            if response.status_code in gone:
                return response.status_code
            if response.status_code == 416:
                sink.reset()
                raise ProviderError(
                    f"{wire.provider}: {what} refused to resume at byte {start}; retrying starts over",
                    status=416,
                    code="download_range_refused",
                    retryable=True,
                )
            if response.status_code >= 400:
                try:
                    content = await read_capped(response, MAX_ANSWER_BYTES)
                except TooLarge:
                    content = b""
                raise wire.status_error(response.status_code, response.headers, content, op="read", what=what)
            expected = _expected_length(wire, response, sink, what)
            received = await _stream(wire, response, sink, what, expected)
    except httpx.TransportError as exc:
        if isinstance(exc, NOT_SENT):
            raise wire.transport_error(exc, op="read", what=what) from exc
        raise ProviderError(
            f"{wire.provider}: {what} was interrupted with {sink.offset} bytes received ({type(exc).__name__}); "
            "retrying resumes where it stopped",
            code="download_interrupted",
            retryable=True,
        ) from exc
    except (httpx.RequestError, httpx.InvalidURL) as exc:
        raise wire.transport_error(exc, op="read", what=what) from exc
    if expected is not None and received != expected:
        raise ProviderError(
            f"{wire.provider}: {what} sent {received} bytes but announced {expected}; retrying resumes where "
            "it stopped",
            code="download_short",
            retryable=True,
        )
    return None


async def _stream(wire: Wire, response: httpx.Response, sink: DownloadSink, what: str, expected: int | None) -> int:
    """Copy the body into ``sink`` within the provider's limits: size, minimum rate, and time."""
    limits = wire.limits
    if expected is not None and sink.offset + expected > limits.max_download_bytes:
        raise _too_large(wire, what, limits)
    clock = time.monotonic
    started = window = clock()
    in_window = received = 0
    # Whatever each read brings (no re-chunking), so a trickle is seen as one; inflated a bounded piece at a time.
    async with contextlib.aclosing(body_pieces(response)) as pieces:
        async for chunk in pieces:
            sink.write(chunk)
            received += len(chunk)
            in_window += len(chunk)
            if sink.offset > limits.max_download_bytes:
                raise _too_large(wire, what, limits)
            now = clock()
            if now - window >= limits.stall_seconds:
                if in_window < limits.stall_bytes:
                    raise ProviderError(
                        f"{wire.provider}: {what} sent {in_window} bytes in {now - window:.0f}s, under renderkit's "
                        f"floor of {limits.stall_bytes // 1024} KiB per {limits.stall_seconds:g}s (stall_timeout); "
                        "retrying resumes where it stopped",
                        code="download_stalled",
                        retryable=True,
                    )
                window, in_window = now, 0
            if now - started > limits.download_seconds:
                raise ProviderError(
                    f"{wire.provider}: {what} took more than {limits.download_seconds:g}s; retrying resumes where it "
                    "stopped",
                    code="download_slow",
                    retryable=True,
                )
    return received


def _too_large(wire: Wire, what: str, limits: Limits) -> ProviderError:
    return ProviderError(
        f"{wire.provider}: {what} is larger than {limits.max_download_bytes // 2**20} MiB (max_download_mb), far "
        "more than the video asked for; renderkit stopped there. Raise max_download_mb for this provider if the "
        "video really is that large",
        code="download_too_large",
    )


def _expected_length(wire: Wire, response: httpx.Response, sink: DownloadSink, what: str) -> int | None:
    """How many body bytes this answer announces; resets the sink when the server restarts from byte 0."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        if match is None or int(match[1]) != sink.offset:
            sink.reset()
            raise ProviderError(
                f"{wire.provider}: {what} resumed at a different byte than asked for; retrying starts over",
                code="download_range_mismatch",
                retryable=True,
            )
        return int(match[2]) - int(match[1]) + 1
    if response.status_code != 200:
        raise ProviderError(
            f"{wire.provider}: {what} answered HTTP {response.status_code} instead of the video; retry later",
            status=response.status_code,
            retryable=True,
        )
    if sink.offset > 0:
        # The server ignored Range and sends the whole file again.
        sink.reset()
    length = response.headers.get("content-length")
    return int(length) if length is not None and length.isdigit() else None
