"""Rendered media per task and variant: rendered once off the event loop, kept in a bounded LRU."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import Executor

from renderkit.simulator.lru import BytesLRU
from renderkit.simulator.render import render_spritesheet, render_thumbnail, render_video
from renderkit.simulator.tasks import Task

VARIANTS = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
BUDGET = 256 << 20  # bytes of rendered media kept; renders are deterministic, so an evicted one re-renders


class MediaCache:
    """Renders each distinct output once, sharing the work between concurrent downloads."""

    def __init__(self, pool: Executor, budget: int = BUDGET) -> None:
        self._pool = pool
        self._done = BytesLRU(budget)
        self._running: dict[tuple[str, ...], asyncio.Future[bytes]] = {}

    async def get(self, task: Task, variant: str) -> bytes:
        """The bytes of ``variant`` for ``task``; must be awaited on the server's event loop."""
        # Keyed by what decides the bytes, not by task: seeded renders of one request share one encode.
        key = (task.stamp, task.request.fingerprint(), str(task.fps), variant)
        if (kept := self._done.get(key)) is not None:
            return kept
        if key in self._running:
            return await asyncio.shield(self._running[key])
        future = asyncio.get_running_loop().run_in_executor(self._pool, _render, task, variant)
        self._running[key] = future
        try:
            data = await asyncio.shield(future)
        finally:
            self._running.pop(key, None)
        self._done.put(key, data)
        return data


def _render(task: Task, variant: str) -> bytes:
    if variant == "thumbnail":
        return render_thumbnail(task.request, task.stamp)
    if variant == "spritesheet":
        return render_spritesheet(task.request, task.stamp, task.fps)
    return render_video(task.request, task.stamp, task.fps)


def etag(task: Task, variant: str, size: int) -> str:
    """A strong validator: the same task, variant and length always have the same bytes."""
    digest = hashlib.sha256(
        f"{task.stamp}:{task.request.fingerprint()}:{task.fps}:{variant}:{size}".encode()
    ).hexdigest()
    return f'"{digest[:32]}"'
