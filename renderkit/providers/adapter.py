"""What the three wire families share: construction, the paid create's answer, download, and refusals."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import quote

import httpx

from renderkit.catalog.kinds import Capability, Kind, cannot
from renderkit.errors import ProviderError
from renderkit.providers.base import CreateRequest, DownloadSink, TaskState
from renderkit.providers.download import download_result
from renderkit.providers.http import Limits, Wire, poll_after
from renderkit.providers.parse import parse_task
from renderkit.request import Request


class HttpProvider(ABC):
    """The common part of every adapter; a subclass supplies the create and poll routes.

    What the adapter may send is its row in the kinds table (``renderkit.catalog.kinds``), not its own flags.
    """

    def __init__(
        self,
        kind: Kind,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        provider_name: str | None = None,
        key_env: str | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.info = kind
        self.kind = kind.name
        self.name = provider_name or self.kind
        key_env = key_env or kind.key_env
        self.wire = Wire(base_url, api_key, client, provider=self.name, key_env=key_env, limits=limits)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.wire.base_url!r})"

    @abstractmethod
    async def create(self, request: CreateRequest) -> TaskState:
        """Start a paid render."""

    @abstractmethod
    async def poll(self, task_id: str) -> TaskState:
        """Return the task's current state."""

    def _refuse(self, capability: Capability) -> ProviderError:
        """A request this family cannot express; raised before anything is sent."""
        return ProviderError(cannot(self.kind, self.name, capability), code="unsupported")

    def _refuse_unsupported(self, request: CreateRequest) -> None:
        """Refuse, before sending, what this family's row in the kinds table says it cannot carry."""
        image = request.image
        link = request.render.link
        wanted: list[tuple[bool, Capability]] = [
            (link == "remix_of", "remix"),
            (link == "extend_of", "extend"),
            (bool(request.render.storyboard), "storyboard"),
            (image is not None and image.data is not None, "image_file"),
            (image is not None and image.url is not None, "image_url"),
        ]
        for asked, capability in wanted:
            if asked and not self.info.can(capability):
                raise self._refuse(capability)

    async def _post_create(
        self,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> TaskState:
        """Send a paid create and read its answer; an answer without a usable task id counts as maybe paid."""
        body, headers = await self.wire.call("POST", path, op="create", json_body=json_body, form=form, files=files)
        try:
            return parse_task(body, poll_after=poll_after(headers), created=True)
        except ProviderError as exc:
            raise ProviderError(
                f"{self.name}: POST {path} was accepted but its answer is unusable ({exc}); the render may have "
                "started and been paid for, so check the provider's dashboard before building again",
                code=exc.code,
                maybe_sent=True,
            ) from exc

    async def _get_task(self, path: str, params: dict[str, str] | None = None) -> TaskState:
        """Poll one task and parse the answer strictly."""
        body, headers = await self.wire.call("GET", path, op="read", params=params)
        return parse_task(body, poll_after=poll_after(headers))

    async def download(self, state: TaskState, sink: DownloadSink) -> None:
        """Stream the video from the result URL, else from ``/v1/videos/{id}/content``."""
        await download_result(self.wire, state, sink, content_path=f"/v1/videos/{segment(state.task_id)}/content")

    async def list_tasks(self, since: int) -> list[TaskState]:
        """Not offered by this family; the executor checks the kind's ``list`` first."""
        raise self._refuse("list")


def segment(task_id: str) -> str:
    """A task id made safe as one URL path segment."""
    return quote(task_id, safe="")


def shots(render: Request) -> list[dict[str, Any]]:
    """The storyboard in the gateway's documented shape (``prompt`` and ``duration`` per shot)."""
    return [{"prompt": shot.prompt, "duration": shot.seconds} for shot in render.storyboard]


def openai_style_fields(render: Request) -> dict[str, Any]:
    """The create fields families 1 and 3 share.

    The length goes twice, so both readings agree: ``seconds`` as a string (the OpenAI API and new-api's billing;
    a number is refused) and ``duration`` as an integer (Crazyrouter's docs; a gateway that reads only it would
    otherwise render its own default length).
    """
    fields: dict[str, Any] = {
        "model": render.model,
        "prompt": render.prompt,
        "seconds": str(render.seconds),
        "duration": render.seconds,
        "size": render.size,
    }
    if render.storyboard:
        fields["storyboard"] = shots(render)
    return with_options(render, fields)


def with_options(render: Request, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the request's optional fields (``private``, ``aspect_ratio``) and its verbatim ``extra``."""
    if render.private is not None:
        body["private"] = render.private
    if render.aspect_ratio is not None:
        body["aspect_ratio"] = render.aspect_ratio
    # The manifest refuses extra fields that renderkit writes itself, so nothing above is overridden.
    return {**render.extra, **body}


def as_form(fields: dict[str, Any]) -> dict[str, str]:
    """Multipart fields are strings; structured values travel as JSON text."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
