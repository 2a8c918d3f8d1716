"""What renderkit changes in httpcore, process-wide, for the version it pins (1.0.9): each change keeps httpcore's
behaviour and removes work that a build of many renders repeats on its event loop.

None of them has a setting per client or per connection, so each replaces a class attribute once per process.
"""

from __future__ import annotations

import asyncio.selector_events
from typing import Any

import httpcore

# The most one read of a socket takes. httpcore asks for 64 KiB, and anyio's asyncio stream slices what the event
# loop received into copies of that size; the loop itself reads 256 KiB at a time. Each read is a trip through the
# selector, the event loop, anyio, httpcore and h11 that costs far more than its bytes: receiving 1 GiB from the
# simulator took 2.5 s of CPU, 1.5 s with 256 KiB reads and 0.6-0.7 s with 512 KiB ones (1 MiB ones saved little
# more, and their copies in h11 left a few MiB more resident). A read still returns only what has arrived, and
# anyio reads nothing more until it is consumed.
RECEIVE_BYTES = 2**19


def tune_httpcore() -> None:
    """Apply every change below (idempotent)."""
    receive_in_large_reads()
    check_idle_sockets_cheaply()
    assign_in_one_pass()


def receive_in_large_reads() -> None:
    """Have httpcore and asyncio's socket transport read up to RECEIVE_BYTES at a time."""
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = RECEIVE_BYTES
    # Private and untyped, though long stable; if it goes, the download test sees reads shrink back to 256 KiB.
    asyncio.selector_events._SelectorSocketTransport.max_size = RECEIVE_BYTES  # type: ignore[attr-defined]


def check_idle_sockets_cheaply() -> None:
    """Have httpcore find each pooled connection's socket once, not on every check of whether the server closed it.

    Each request added to or leaving httpcore's pool checks every pooled connection, and for an idle one asks its
    anyio stream for the raw socket: anyio builds a dict of every socket attribute to answer. A 100-scene cold build
    made 11,000 such checks, 0.56 s of its 4.6 s of CPU, all on the event loop. The answer (whether the socket is
    readable) is unchanged: the socket a stream wraps never changes.
    """
    from httpcore._backends.anyio import AnyIOStream  # the backend httpcore uses under asyncio
    from httpcore._utils import is_socket_readable

    if getattr(AnyIOStream.get_extra_info, "renderkit", False):
        return
    ask = AnyIOStream.get_extra_info

    def get_extra_info(self: AnyIOStream, info: str) -> object:
        if info != "is_readable":
            return ask(self, info)
        if "_renderkit_socket" not in self.__dict__:
            self.__dict__["_renderkit_socket"] = ask(self, "socket")
        return is_socket_readable(self.__dict__["_renderkit_socket"])

    get_extra_info.renderkit = True  # type: ignore[attr-defined]
    AnyIOStream.get_extra_info = get_extra_info  # type: ignore[method-assign]


def assign_in_one_pass() -> None:
    """Have httpcore's pool count its connections once per idle one, not list them all again for each.

    Every request added to or leaving the pool runs its assignment pass, and for each idle connection that pass
    builds a list of one item per pooled connection just to take its length, which is the number of pooled
    connections (httpcore#1035). With 20 renders polling, that was 200,000 calls in a 100-scene cold build, 14-19%
    of its event loop's time under two profilers. This pass takes ``len()`` instead, and is otherwise httpcore
    1.0.9's own.
    """
    pool = httpcore.AsyncConnectionPool
    if getattr(pool._assign_requests_to_connections, "renderkit", False):
        return

    def _assign_requests_to_connections(self: Any) -> list[Any]:
        closing = []
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
            elif connection.is_idle() and len(self._connections) > self._max_keepalive_connections:
                self._connections.remove(connection)
                closing.append(connection)
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = [c for c in self._connections if c.can_handle_request(origin) and c.is_available()]
            if available:
                pool_request.assign_to_connection(available[0])
            elif len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
            elif idle := [c for c in self._connections if c.is_idle()]:
                self._connections.remove(idle[0])
                closing.append(idle[0])
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
        return closing

    _assign_requests_to_connections.renderkit = True  # type: ignore[attr-defined]
    pool._assign_requests_to_connections = _assign_requests_to_connections  # type: ignore[method-assign]
