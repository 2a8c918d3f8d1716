"""Family ``openai``: the OpenAI Videos routes under ``/v1/videos`` (also the simulator's wire format)."""

from __future__ import annotations

import time

from renderkit.errors import ProviderError
from renderkit.providers.adapter import HttpProvider, as_form, openai_style_fields, segment
from renderkit.providers.base import CreateRequest, TaskState
from renderkit.providers.parse import parse_task

PAGE = 100


class OpenAIProvider(HttpProvider):
    """``POST /v1/videos``, ``GET /v1/videos/{id}``, ``/content``, ``/remix``, ``/extensions`` and the list route."""

    async def create(self, request: CreateRequest) -> TaskState:
        """Start a render (or a remix of ``request.remix_of``, or an extension of ``request.extend_of``).

        JSON, or multipart with a local image.
        """
        self._refuse_unsupported(request)
        render = request.render
        if render.link == "remix_of":
            path = f"/v1/videos/{segment(_source(request))}/remix"
            return await self._post_create(path, json_body={**render.extra, "prompt": render.prompt})
        if render.link == "extend_of":
            # The answer's seconds is the whole extended video's length, not the seconds asked for here.
            body = {"prompt": render.prompt, "seconds": str(render.seconds), "video": {"id": _source(request)}}
            return await self._post_create("/v1/videos/extensions", json_body=body)
        fields = openai_style_fields(render)
        image = request.image
        if image is not None and image.data is not None:
            return await self._post_create(
                "/v1/videos",
                form=as_form(fields),
                files={"input_reference": (image.filename, image.data, image.mime)},
            )
        if image is not None and image.url is not None:
            fields["image_url"] = image.url
        return await self._post_create("/v1/videos", json_body=fields)

    async def poll(self, task_id: str) -> TaskState:
        """``GET /v1/videos/{id}``."""
        return await self._get_task(f"/v1/videos/{segment(task_id)}")

    async def list_tasks(self, since: int) -> list[TaskState]:
        """Tasks created at or after ``since``, newest first, paging until older ones appear."""
        found: list[TaskState] = []
        params = {"order": "desc", "limit": str(PAGE)}
        limits = self.wire.limits
        started = time.monotonic()
        for _ in range(limits.list_pages):
            if time.monotonic() - started > limits.list_seconds:
                break
            body, _ = await self.wire.call("GET", "/v1/videos", op="read", params=params)
            items = body.get("data")
            if not isinstance(items, list) or not items:
                return found
            for item in items:
                if not isinstance(item, dict):
                    continue
                created_at = item.get("created_at")
                if isinstance(created_at, int) and created_at < since:
                    return found
                found.append(parse_task(item))
            last = items[-1]
            last_id = body.get("last_id") or (last.get("id") if isinstance(last, dict) else None)
            # Stop on a cursor that does not move, so a confused server cannot keep renderkit paging forever.
            if not body.get("has_more") or not isinstance(last_id, str) or last_id == params.get("after"):
                return found
            params = {**params, "after": last_id}
        raise ProviderError(
            f"{self.name}: the list of tasks went on past {limits.list_pages} pages or {limits.list_seconds:g}s "
            "without reaching the time of the lost create; renderkit stopped paging",
            code="list_too_long",
        )


def _source(request: CreateRequest) -> str:
    """The task a remix or an extension is made from; the executor always sets it for those."""
    if not request.source_task:
        raise ProviderError(f"a {request.render.link} create needs the source task's id", code="unsupported")
    return request.source_task
