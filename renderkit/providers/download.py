"""Stream a finished video into a sink: result URL first, the content route if that URL has expired.

Memory stays flat in the file size (64 KiB chunks), a held prefix is resumed with ``Range``, and a body shorter
than the server announced is a retryable error, never a silently truncated file.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx

from renderkit.errors import ProviderError
from renderkit.providers.base import DownloadSink, TaskState
from renderkit.providers.http import NOT_SENT, Wire, redact

CHUNK = 64 * 1024
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
                await response.aread()
                raise wire.status_error(response.status_code, response.headers, response.content, op="read", what=what)
            expected = _expected_length(wire, response, sink, what)
            received = 0
            async for chunk in response.aiter_bytes(CHUNK):
                sink.write(chunk)
                received += len(chunk)
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
