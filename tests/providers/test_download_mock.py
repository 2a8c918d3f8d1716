"""Download cases the simulator cannot produce: other hosts, and servers that mishandle Range.

The simulator serves everything from one loopback origin and honours Range, so a signed URL on a different host,
a server that ignores Range, and a 206 that starts at the wrong byte need ``httpx.MockTransport``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from renderkit.errors import ProviderError
from renderkit.providers.base import TaskState
from renderkit.providers.registry import open_provider
from tests.providers.sinks import MemorySink

KEY = "sk-download-secret"
VIDEO = bytes(range(256)) * 1000
SIGNED = "https://cdn.example/v.mp4?sig=abc"
CONTENT = "https://gw.example/v1/videos/task_1/content"


def done(result_url: str | None = SIGNED) -> TaskState:
    return TaskState(task_id="task_1", status="completed", result_url=result_url)


def serve_range(request: httpx.Request) -> httpx.Response:
    """Honour ``Range: bytes=N-`` like a well-behaved server."""
    spec = request.headers.get("range")
    if spec is None:
        return httpx.Response(200, content=VIDEO)
    start = int(spec.removeprefix("bytes=").rstrip("-"))
    headers = {"content-range": f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}"}
    return httpx.Response(206, content=VIDEO[start:], headers=headers)


async def run(
    handler: Callable[[httpx.Request], httpx.Response], state: TaskState, sink: MemorySink
) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        p = open_provider("generations", base_url="https://gw.example", api_key=KEY, client=client, name="gw")
        await p.download(state, sink)
    return seen


@pytest.mark.anyio
async def test_signed_url_on_another_host_gets_no_key() -> None:
    sink = MemorySink()
    seen = await run(serve_range, done(), sink)
    assert bytes(sink.data) == VIDEO
    assert [str(r.url) for r in seen] == [SIGNED]
    assert "authorization" not in seen[0].headers


@pytest.mark.anyio
async def test_expired_signed_url_falls_back_to_the_content_route_with_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return httpx.Response(403, text="<Error>Request has expired</Error>")
        return serve_range(request)

    sink = MemorySink()
    seen = await run(handler, done(), sink)
    assert bytes(sink.data) == VIDEO
    assert str(seen[1].url) == CONTENT + "?variant=video"
    assert seen[1].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.anyio
async def test_server_that_ignores_range_restarts_the_sink() -> None:
    sink = MemorySink(VIDEO[:1000])
    seen = await run(lambda _: httpx.Response(200, content=VIDEO), done(), sink)
    assert seen[0].headers["range"] == "bytes=1000-"
    assert sink.resets == 1
    assert bytes(sink.data) == VIDEO


@pytest.mark.anyio
async def test_partial_content_is_appended() -> None:
    sink = MemorySink(VIDEO[:5000])
    await run(serve_range, done(), sink)
    assert sink.resets == 0
    assert bytes(sink.data) == VIDEO


@pytest.mark.anyio
async def test_partial_content_at_the_wrong_byte_restarts_and_retries() -> None:
    def wrong_start(_: httpx.Request) -> httpx.Response:
        return httpx.Response(206, content=VIDEO[10:], headers={"content-range": f"bytes 10-{len(VIDEO) - 1}/*"})

    sink = MemorySink(VIDEO[:5000])
    with pytest.raises(ProviderError, match="different byte") as info:
        await run(wrong_start, done(), sink)
    assert info.value.retryable
    assert sink.offset == 0


@pytest.mark.anyio
async def test_without_a_result_url_the_content_route_is_used() -> None:
    sink = MemorySink()
    seen = await run(serve_range, done(None), sink)
    assert [r.url.path for r in seen] == ["/v1/videos/task_1/content"]
    assert bytes(sink.data) == VIDEO


@pytest.mark.anyio
async def test_body_shorter_than_content_length_is_retryable() -> None:
    def short(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=VIDEO[:100], headers={"content-length": str(len(VIDEO))})

    with pytest.raises(ProviderError, match="announced") as info:
        await run(short, done(None), MemorySink())
    assert info.value.retryable


@pytest.mark.anyio
async def test_refused_range_restarts_and_retries() -> None:
    sink = MemorySink(VIDEO[:5000])
    with pytest.raises(ProviderError, match="refused to resume at byte 5000") as info:
        await run(lambda _: httpx.Response(416), done(None), sink)
    assert info.value.retryable
    assert sink.offset == 0
