"""Answers a hostile or broken provider gives, for the fault kinds that lie about their size or speed.

- ``huge[=MB]``: a 200 whose JSON body is MB megabytes (default 64), announced honestly.
- ``bomb[=MB]``: a 200 with ``Content-Encoding: gzip`` whose body is small but inflates to MB megabytes (256).
- ``endless``: a 200 with no length that never ends (zeros, chunk after chunk).
- ``trickle[=S]``: the real answer, one byte every S seconds (default 2).
- ``pages``: a list route that always has one more page, each naming a new cursor.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import zlib

from starlette.types import Receive, Send

from renderkit.simulator.wire import Reply, body_chunks

LIES = ("huge", "bomb", "endless", "trickle", "pages")
_ZEROS = b"\0" * (1 << 20)


def _start(status: int, headers: dict[str, str]) -> dict[str, object]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }


async def huge(send: Send, megabytes: float) -> None:
    """A JSON task object padded to ``megabytes``."""
    size = int(megabytes * 1e6)
    head = b'{"id":"video_huge","object":"video","status":"queued","pad":"'
    tail = b'"}'
    await send(_start(200, {"content-type": "application/json", "content-length": str(size)}))
    remaining = size - len(head) - len(tail)
    await send({"type": "http.response.body", "body": head, "more_body": True})
    while remaining > 0:
        piece = b"x" * min(remaining, 1 << 20)
        remaining -= len(piece)
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": tail, "more_body": False})


@functools.cache
def _bomb(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    out = [packer.compress(b'{"id":"video_bomb","status":"queued","pad":"')]
    out += [packer.compress(b"x" * (1 << 20)) for _ in range(megabytes)]
    out.append(packer.compress(b'"}'))
    out.append(packer.flush())
    return b"".join(out)


async def bomb(send: Send, megabytes: float) -> None:
    """A gzip body that inflates to ``megabytes`` of JSON."""
    body = _bomb(int(megabytes))
    headers = {"content-type": "application/json", "content-encoding": "gzip", "content-length": str(len(body))}
    await send(_start(200, headers))
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def endless(send: Send, receive: Receive) -> None:
    """A body with no length that never ends (until the client hangs up)."""
    gone = asyncio.Event()

    async def watch() -> None:
        # The server drops what is sent after a hang-up without a word; only receive() tells.
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        await send(_start(200, {"content-type": "video/mp4"}))
        while not gone.is_set():
            await send({"type": "http.response.body", "body": _ZEROS, "more_body": True})
            await asyncio.sleep(0)
    finally:
        watcher.cancel()


async def trickle(send: Send, reply: Reply, seconds: float) -> None:
    """The real answer, one byte at a time."""
    length, chunks = body_chunks(reply)
    media = "application/json" if reply.payload is None else reply.payload.media_type
    headers = {"content-type": media, "content-length": str(length), "x-request-id": secrets.token_hex(8)}
    await send(_start(reply.status, {**headers, **reply.headers}))
    for chunk in chunks:
        for i in range(len(chunk)):
            await send({"type": "http.response.body", "body": chunk[i : i + 1], "more_body": True})
            await asyncio.sleep(seconds)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def pages() -> Reply:
    """A page of someone else's tasks that always says there is another one."""
    cursor = f"video_{secrets.token_hex(8)}"
    item = {"id": cursor, "object": "video", "status": "completed", "created_at": 4_102_444_800, "prompt": "?"}
    return Reply(200, {"object": "list", "data": [item], "has_more": True, "last_id": cursor})
