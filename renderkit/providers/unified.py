"""Family ``unified``: Crazyrouter's ``POST /v1/video/create`` and ``GET /v1/video/query``."""

from __future__ import annotations

from math import gcd
from typing import Any

from renderkit.providers.adapter import HttpProvider, with_options
from renderkit.providers.base import CreateRequest, TaskState
from renderkit.request import parse_size


def aspect_ratio(size: str) -> str | None:
    """``1280x720`` → ``16:9``; None for a size that is not WIDTHxHEIGHT."""
    try:
        width, height = parse_size(size)
    except ValueError:
        return None
    if width == 0 or height == 0:
        return None
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


class UnifiedProvider(HttpProvider):
    """The unified create/query pair: ``duration`` as an int, images as URLs only."""

    async def create(self, request: CreateRequest) -> TaskState:
        """Start a render; refuses what this family cannot carry rather than render something else."""
        self._refuse_unsupported(request)
        render = request.render
        body: dict[str, Any] = {
            "model": render.model,
            "prompt": render.prompt,
            "duration": render.seconds,
            "size": render.size,
        }
        ratio = render.aspect_ratio or aspect_ratio(render.size)
        if ratio is not None:
            body["aspect_ratio"] = ratio
        if request.image is not None and request.image.url is not None:
            body["images"] = [request.image.url]
        return await self._post_create("/v1/video/create", json_body=with_options(render, body))

    async def poll(self, task_id: str) -> TaskState:
        """``GET /v1/video/query``, sending the id under both documented parameter names."""
        return await self._get_task("/v1/video/query", params={"id": task_id, "task_id": task_id})
