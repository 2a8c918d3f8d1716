"""Family ``unified``: Crazyrouter's ``POST /v1/video/create`` and ``GET /v1/video/query``."""

from __future__ import annotations

from math import gcd
from typing import Any

from renderkit.providers.adapter import HttpProvider
from renderkit.providers.base import CreateRequest, TaskState


def aspect_ratio(size: str) -> str | None:
    """``1280x720`` → ``16:9``; None for a size that is not WIDTHxHEIGHT."""
    width, _, height = size.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(width) == 0 or int(height) == 0:
        return None
    divisor = gcd(int(width), int(height))
    return f"{int(width) // divisor}:{int(height) // divisor}"


class UnifiedProvider(HttpProvider):
    """The unified create/query pair: ``duration`` as an int, images as URLs only."""

    async def create(self, request: CreateRequest) -> TaskState:
        """Start a render; refuses what this family cannot carry rather than render something else."""
        self._refuse_unsupported(request)
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "duration": request.seconds,
            "size": request.size,
        }
        ratio = aspect_ratio(request.size)
        if ratio is not None:
            body["aspect_ratio"] = ratio
        if request.image is not None and request.image.url is not None:
            body["images"] = [request.image.url]
        return await self._post_create("/v1/video/create", json_body=body)

    async def poll(self, task_id: str) -> TaskState:
        """``GET /v1/video/query``, sending the id under both documented parameter names."""
        return await self._get_task("/v1/video/query", params={"id": task_id, "task_id": task_id})
