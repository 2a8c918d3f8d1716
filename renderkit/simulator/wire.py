"""ASGI plumbing: replies, sending (whole, by range, or truncated) and dropping connections."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from renderkit.simulator.content import Payload

Transports = dict[tuple[str, int], asyncio.Transport]


@dataclass
class Reply:
    """One answer: a JSON body or a streamed payload, with its status and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    payload: Payload | None = None
    span: tuple[int, int] | None = None


class Refusal(Exception):
    """Stop handling and answer ``reply`` (auth, limits, validation, unknown ids)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        super().__init__(reply.status)


def body_chunks(reply: Reply) -> tuple[int, Iterable[bytes]]:
    if reply.payload is None:
        data = json.dumps(reply.body, separators=(",", ":")).encode()
        return len(data), [data]
    start, stop = reply.span or (0, reply.payload.size)
    return stop - start, reply.payload.iter_range(start, stop)


async def send_reply(send: Send, reply: Reply, *, cut: float | None = None, head: bool = False) -> bool:
    """Send ``reply`` (headers only for HEAD); with ``cut``, announce the full length but stop after that
    share. True if complete."""
    length, chunks = body_chunks(reply)
    media = "application/json" if reply.payload is None else reply.payload.media_type
    headers = {"content-type": media, "content-length": str(length), "x-request-id": secrets.token_hex(8)}
    headers.update(reply.headers)
    await send(
        {
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    budget = length if cut is None else int(length * cut)
    for chunk in () if head else chunks:
        piece = chunk if len(chunk) <= budget else chunk[:budget]
        if piece:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        budget -= len(piece)
        if cut is not None and budget <= 0:
            return False
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return True


async def drop(scope: Scope, receive: Receive, transports: Transports) -> None:
    """Close the client's connection without (finishing) an answer, then wait until it is gone."""
    client = scope.get("client")
    transport = transports.get((client[0], client[1])) if client else None
    if transport is None:
        # The server forgets a transport when it closes: a client that hung up first left nothing to drop.
        try:
            async with asyncio.timeout(1):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            raise RuntimeError(
                "dropping a connection needs the simulator's own server (renderkit.simulator.server)"
            ) from None
        return
    transport.close()
    # Returning before uvicorn notices the close would make it answer 500 on the closing socket.
    async with asyncio.timeout(5):
        while (await receive())["type"] != "http.disconnect":
            pass
