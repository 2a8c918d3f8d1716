"""renderkit's changes to httpcore's connection pool, over real loopback connections: the pool behaves as httpcore
1.0.9's own, with less work per request."""

from __future__ import annotations

import socket
from collections.abc import Callable

import anyio
import anyio.lowlevel
import httpcore
import httpx
import pytest

from renderkit.ops.httpcore_patches import check_idle_sockets_cheaply, tune_httpcore
from renderkit.simulator import Simulator


@pytest.mark.anyio
async def test_a_pooled_socket_found_once_still_shows_the_server_closing_it() -> None:
    from httpcore._backends.anyio import AnyIOBackend

    check_idle_sockets_cheaply()
    check_idle_sockets_cheaply()  # once is enough; again changes nothing
    with socket.create_server(("127.0.0.1", 0)) as server:
        stream = await AnyIOBackend().connect_tcp("127.0.0.1", server.getsockname()[1])
        peer, _ = server.accept()
        try:
            assert stream.get_extra_info("is_readable") is False, "an idle connection the server keeps open"
            assert stream.__dict__["_renderkit_socket"] is stream.get_extra_info("socket")
            peer.close()
            with anyio.fail_after(10):  # the FIN arrives through the loopback; each check is a poll, not a wait
                while not stream.get_extra_info("is_readable"):
                    await anyio.lowlevel.checkpoint()
        finally:
            peer.close()
            await stream.aclose()


def counting_idle_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls of httpcore's ``is_idle`` on pooled connections from now on."""
    calls = [0]
    original: Callable[[httpcore.AsyncHTTPConnection], bool] = httpcore.AsyncHTTPConnection.is_idle

    def is_idle(self: httpcore.AsyncHTTPConnection) -> bool:
        calls[0] += 1
        return original(self)

    monkeypatch.setattr(httpcore.AsyncHTTPConnection, "is_idle", is_idle)
    return calls


async def idle_connections(client: httpx.AsyncClient, url: str, count: int) -> None:
    """Leave ``count`` idle connections in ``client``'s pool: as many responses held open at once, then closed."""
    async with anyio.create_task_group() as tg:
        opened = anyio.Event()
        held = 0

        async def hold() -> None:
            nonlocal held
            async with client.stream("GET", url) as response:
                await response.aread()
                held += 1
                if held == count:
                    opened.set()
                await opened.wait()

        for _ in range(count):
            tg.start_soon(hold)


@pytest.mark.anyio
async def test_a_request_checks_each_pooled_connection_a_few_times_not_once_per_other_connection(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    tune_httpcore()
    tune_httpcore()  # once is enough; again changes nothing
    url = f"{simulator.base_url}/_sim/ledger"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)) as client:
        with anyio.fail_after(30):
            await idle_connections(client, url, 30)
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert len(pool.connections) == 30
            calls = counting_idle_checks(monkeypatch)
            assert (await client.get(url)).status_code == 200
    assert len(pool.connections) == 0, "closed with the client"
    # One request is added to the pool and leaves it: two passes over 30 connections. httpcore's own pass listed
    # all 30 again for each idle one: 1,800 checks.
    assert 0 < calls[0] <= 4 * 30


@pytest.mark.anyio
async def test_idle_connections_past_the_keepalive_limit_are_still_closed(simulator: Simulator) -> None:
    tune_httpcore()
    url = f"{simulator.base_url}/_sim/ledger"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=10)) as client:
        with anyio.fail_after(30):
            await idle_connections(client, url, 30)
            pool = client._transport._pool  # type: ignore[attr-defined]
            reused = {id(c) for c in pool.connections}
            assert (await client.get(url)).status_code == 200
            # httpcore 1.0.9 keeps as many connections as its keep-alive limit, the one just used among them.
            assert len(pool.connections) == 10
            assert {id(c) for c in pool.connections} <= reused, "no new connection was made"
