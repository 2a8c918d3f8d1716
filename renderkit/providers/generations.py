"""Family ``generations``: ``POST /v1/video/generations`` and ``GET /v1/video/generations/{task_id}``."""

from __future__ import annotations

from renderkit.providers.adapter import HttpProvider, as_form, openai_style_fields, segment
from renderkit.providers.base import CreateRequest, TaskState


class GenerationsProvider(HttpProvider):
    """The gateway's task routes; same create handler as ``/v1/videos``, answers wrapped in a TaskDto."""

    async def create(self, request: CreateRequest) -> TaskState:
        """Start a render; JSON, or multipart with a local image."""
        self._refuse_unsupported(request)
        fields = openai_style_fields(request.render)
        image = request.image
        if image is not None and image.data is not None:
            return await self._post_create(
                "/v1/video/generations",
                form=as_form(fields),
                files={"input_reference": (image.filename, image.data, image.mime)},
            )
        if image is not None and image.url is not None:
            # image_url as the docs show it, images as new-api reads it: a gateway honours one or the other.
            fields["image_url"] = image.url
            fields["images"] = [image.url]
        return await self._post_create("/v1/video/generations", json_body=fields)

    async def poll(self, task_id: str) -> TaskState:
        """``GET /v1/video/generations/{task_id}``."""
        return await self._get_task(f"/v1/video/generations/{segment(task_id)}")
