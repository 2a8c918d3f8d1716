"""Simulator throughput: renders per minute at 1280x720 x 4 s, requests per second with 200 tasks in flight,
and a 1 GiB padded download's rate with the server's peak memory.

Run: ``.venv/bin/python bench/sim_throughput.py [--renders N] [--requests N]``. The simulator runs as
``renderkit sim`` in its own process (so the client does not share its GIL), on loopback; every loop is
bounded by a count. Both figures come from one run against one simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import time

import httpx

IN_FLIGHT = 200
CONCURRENCY = 32


async def _renders(client: httpx.AsyncClient, count: int) -> float:
    """Create ``count`` distinct 1280x720 4 s videos, download each; return renders per minute."""
    (await client.post("/_sim/config", json={"latency": 0.0})).raise_for_status()
    ids = []
    for i in range(count):
        body = {"prompt": f"bench render {i}: a lighthouse at dusk", "size": "1280x720", "seconds": "4"}
        ids.append((await client.post("/v1/videos", json=body)).json()["id"])
    limit = asyncio.Semaphore(4)

    async def fetch(video_id: str) -> int:
        async with limit:
            response = await client.get(f"/v1/videos/{video_id}/content")
            response.raise_for_status()
            return len(response.content)

    start = time.perf_counter()
    sizes = await asyncio.gather(*(fetch(i) for i in ids))
    elapsed = time.perf_counter() - start
    assert all(size > 1000 for size in sizes)
    return count / elapsed * 60


async def _poller(port: int, paths: list[str], count: int) -> None:
    """Send ``count`` keep-alive GETs on one raw connection; raw HTTP so the client costs little CPU."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n in range(count):
            request = f"GET {paths[n % len(paths)]} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer sk-bench\r\n\r\n"
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert length is not None, head
            body = await reader.readexactly(int(length.group(1)))
            assert b'"status":"queued"' in body or b'"status":"in_progress"' in body
    finally:
        writer.close()


async def _requests(client: httpx.AsyncClient, count: int) -> float:
    """Poll 200 unfinished tasks round-robin over 32 connections; return requests per second."""
    (await client.post("/_sim/config", json={"latency": 3600.0})).raise_for_status()
    ids = [(await client.post("/v1/videos", json={"prompt": f"waiting {i}"})).json()["id"] for i in range(IN_FLIGHT)]
    per_worker = count // CONCURRENCY
    port = client.base_url.port
    assert port is not None
    start = time.perf_counter()
    await asyncio.gather(
        *(_poller(port, [f"/v1/videos/{i}" for i in ids[w:] + ids[:w]], per_worker) for w in range(CONCURRENCY))
    )
    return per_worker * CONCURRENCY / (time.perf_counter() - start)


async def _download(client: httpx.AsyncClient, size: int) -> float:
    """Stream one video padded to ``size`` bytes; return MB/s."""
    (await client.post("/_sim/config", json={"latency": 0.0, "pad_to": size})).raise_for_status()
    video_id = (await client.post("/v1/videos", json={"prompt": "big", "size": "1280x720"})).json()["id"]
    received = 0
    start = time.perf_counter()
    async with client.stream("GET", f"/v1/videos/{video_id}/content") as response:
        async for chunk in response.aiter_raw(1 << 20):
            received += len(chunk)
    assert received == size
    return size / (time.perf_counter() - start) / 1e6


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (Linux ``VmHWM``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(ln for ln in status if ln.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


async def _main(base_url: str, renders: int, requests: int, pid: int) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"authorization": "Bearer sk-bench"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as client:
        per_minute = await _renders(client, renders)
        per_second = await _requests(client, requests)
        before = _peak_rss_mb(pid)
        rate = await _download(client, 1 << 30)
        ledger = (await client.get("/_sim/ledger")).json()
    print(f"renders per minute (1280x720, 4 s, {renders} distinct, 4 at a time): {per_minute:.0f}")
    print(f"requests per second ({IN_FLIGHT} tasks in flight, {CONCURRENCY} concurrent pollers): {per_second:.0f}")
    after = _peak_rss_mb(pid)
    print(f"1 GiB padded download: {rate:.0f} MB/s; server peak RSS {before:.0f} MB before, {after:.0f} MB after")
    print(f"ledger: {ledger['creates']} creates, responses {ledger['responses']}")


def main() -> None:
    """Parse the counts and run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=60)
    parser.add_argument("--requests", type=int, default=16000)
    args = parser.parse_args()
    command = [sys.executable, "-m", "renderkit", "sim", "--host", "127.0.0.1", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline().strip()
            base_url = line.rsplit(" ", 1)[-1]
            if not base_url.startswith("http://127.0.0.1:"):
                raise SystemExit(f"renderkit sim did not start: {line!r}")
            asyncio.run(_main(base_url, args.renders, args.requests, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
