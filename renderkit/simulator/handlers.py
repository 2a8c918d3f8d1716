"""Route handlers, one per route template, registered in ``HANDLERS``.

Routes (shapes per dialect: see ``dialects``):

- family 1: ``POST /v1/video/generations``, ``GET /v1/video/generations/{task_id}``;
- family 2: ``POST /v1/video/create``, ``GET /v1/video/query?task_id=`` (or ``?id=``);
- family 3 and the OpenAI Videos API: ``POST/GET /v1/videos``, ``GET/DELETE /v1/videos/{id}``,
  ``GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`` (also HEAD), ``POST
  /v1/videos/{id}/remix``, ``POST /v1/videos/edits``, ``POST /v1/videos/extensions``, ``POST
  /v1/videos/characters``, ``GET /v1/videos/characters/{id}``;
- ``GET /v1/models``: the configured models (or a default list when any model is served).

Choices where the references are silent: every task is visible from every family's poll route, private to
the key that created it; ids are ``video_`` + 48 hex on ``/v1/videos`` and ``task_`` + 32 hex on families 1
and 2. Creates default to ``sora-2`` (``model`` is required on families 1 and 2), ``720x1280`` and 4 s;
``seconds`` wins over ``duration``, and 0 or empty means the default. Any even size from 16 to 2048 per side
renders. A remix keeps its source's model, size and length; an edit keeps its source's length; an extension
adds ``seconds`` (and charges only those). Delete refuses unfinished videos (400). Content is served only for
``completed`` tasks (400 otherwise, as the gateway's proxy does), and after ``expires_at`` it answers **410**
``video_expired`` with an ``{"error":{...}}`` body: the task itself stays retrievable, only its assets are
gone. Single byte ranges get 206 with Content-Range, unsatisfiable ones 416, others the whole body. Media
render on first download (then stay cached), so a poll never waits for an encoder.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request

from renderkit.simulator import routes as R
from renderkit.simulator.config import SimConfig
from renderkit.simulator.content import Payload, Unsatisfiable, pad_mp4, parse_range
from renderkit.simulator.dialects import GENERATIONS, UNIFIED, UPPER, VIDEOS, Body, api_error, openai_video
from renderkit.simulator.faults import Fault
from renderkit.simulator.inputs import (
    MAX_SECONDS,
    InvalidRequest,
    RenderRequest,
    Shot,
    parse_create,
    prompt_of,
    seconds_of,
)
from renderkit.simulator.media import VARIANTS, etag
from renderkit.simulator.render import probe_video
from renderkit.simulator.wire import Refusal, Reply

if TYPE_CHECKING:
    from renderkit.simulator.app import SimApp

# What GET /v1/models lists when the simulator serves any model.
DEFAULT_MODELS = ("sora-2", "sora-2-pro", "veo-3.1-fast", "veo-3.1-quality")


@dataclass(frozen=True)
class Ctx:
    """One request as the handlers see it."""

    request: Request
    params: dict[str, str]
    config: SimConfig
    key: str
    faults: tuple[Fault, ...]
    base: str


Handler = Callable[["SimApp", Ctx], Awaitable[Reply]]
HANDLERS: dict[str, Handler] = {}


def route(template: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``METHOD /path/{param}``."""

    def register(handler: Handler) -> Handler:
        HANDLERS[template] = handler
        return handler

    return register


def _creator(family: str) -> Handler:
    async def create(app: SimApp, ctx: Ctx) -> Reply:
        fields_, files = await _read_body(ctx.request)
        req = parse_create(fields_, files, require_model=family != VIDEOS)
        task = app.accept(ctx, req, family, paid=req.seconds, private=_flag(fields_.get("private")))
        return app.task_reply(ctx, family, task, create=True)

    return create


def _poller(family: str, param: str) -> Handler:
    async def poll(app: SimApp, ctx: Ctx) -> Reply:
        return app.task_reply(ctx, family, app.find(ctx, ctx.params[param], family), create=False)

    return poll


route(R.GENERATIONS_CREATE)(_creator(GENERATIONS))
route(R.UNIFIED_CREATE)(_creator(UNIFIED))
route(R.VIDEOS_CREATE)(_creator(VIDEOS))
route(R.GENERATIONS_GET)(_poller(GENERATIONS, "task_id"))
route(R.VIDEOS_GET)(_poller(VIDEOS, "video_id"))


async def derive(app: SimApp, ctx: Ctx, *, extend: bool) -> Reply:
    """``/v1/videos/edits`` and ``/extensions``: a new video from an earlier one or an uploaded file."""
    fields_, files = await _read_body(ctx.request)
    prompt = prompt_of(fields_)
    added = seconds_of(fields_.get("seconds"), "seconds") if extend else 0
    if "video" in files:
        width, height, seconds = await asyncio.to_thread(probe_video, files["video"], "video")
        model, source = "sora-2", "uploaded video"
    else:
        ref = fields_.get("video")
        ref_id = ref.get("id") if isinstance(ref, dict) else fields_.get("video[id]", ref)
        if not isinstance(ref_id, str) or not ref_id:
            raise InvalidRequest('video is required: a file or {"id": "video_..."}', param="video")
        src = app.find(ctx, ref_id, VIDEOS)
        if app.state(src, ctx.config).status != "completed":
            raise InvalidRequest(f"video {src.id} is not completed; only a completed video can be changed")
        width, height, seconds = src.request.width, src.request.height, src.request.seconds
        model, source = src.request.model, src.id
    if seconds + added > MAX_SECONDS:
        raise InvalidRequest(f"the extended video would be longer than {MAX_SECONDS} seconds", param="seconds")
    shots = (Shot(prompt, seconds + added),)
    verb = "extension" if extend else "edit"
    req = RenderRequest(model, width, height, shots, note=f"{verb} of {source}")
    task = app.accept(ctx, req, VIDEOS, paid=added or seconds)
    return app.task_reply(ctx, VIDEOS, task, create=True)


@route(R.VIDEOS_CONTENT)
async def content(app: SimApp, ctx: Ctx) -> Reply:
    """Serve a finished task's video, thumbnail or spritesheet, honouring Range."""
    variant = ctx.request.query_params.get("variant", "video")
    if variant not in VARIANTS:
        raise InvalidRequest(f"variant must be one of {', '.join(VARIANTS)}", param="variant")
    task = app.store.get(ctx.params["video_id"], ctx.key)
    if task is None:
        raise Refusal(Reply(404, api_error("Task not found", type_="invalid_request_error", code="not_found")))
    st = app.state(task, ctx.config)
    if st.status != "completed":
        message = f"Task is not completed yet, current status: {UPPER[st.status]}"
        raise Refusal(Reply(400, api_error(message, type_="invalid_request_error", code="not_ready")))
    if st.expired or any(f.kind == "expire" for f in ctx.faults):
        message = f"The assets of {task.id} expired at {st.expires_at}; create the video again"
        raise Refusal(Reply(410, api_error(message, type_="invalid_request_error", code="video_expired")))
    data = await app.media.get(task, variant)
    parts = pad_mp4(data, ctx.config.pad_to) if variant == "video" else (data,)
    size = sum(p if isinstance(p, int) else len(p) for p in parts)
    payload = Payload(parts, VARIANTS[variant], etag(task, variant, size))
    headers = {"accept-ranges": "bytes", "etag": payload.etag, "cache-control": "public, max-age=86400"}
    try:
        span = parse_range(ctx.request.headers.get("range"), size)
    except Unsatisfiable:
        headers = {"content-range": f"bytes */{size}"}
        raise Refusal(Reply(416, api_error("Range not satisfiable", type_="invalid_request_error"), headers)) from None
    if span is None:
        return Reply(200, headers=headers, payload=payload)
    headers["content-range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
    return Reply(206, headers=headers, payload=payload, span=span)


@route(R.FILES)
async def signed_file(app: SimApp, ctx: Ctx) -> Reply:
    """A signed result URL, like a reseller's storage link: the video until ``expires``, then 403."""
    video_id = ctx.params["file_id"].removesuffix(".mp4")
    task = app.store.get(video_id, ctx.key)
    expires = ctx.request.query_params.get("expires", "")
    if task is None or not expires.isdigit():
        raise Refusal(Reply(404, api_error("No such file", type_="invalid_request_error", code="not_found")))
    now_wall = task.created_wall + (app.clock.monotonic() - task.created)
    if now_wall > int(expires):
        raise Refusal(Reply(403, api_error("Request has expired", type_="invalid_request_error", code="AccessDenied")))
    return await content(app, replace(ctx, params={"video_id": video_id}))


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))


async def _read_body(request: Request) -> tuple[dict[str, object], dict[str, bytes]]:
    """JSON or form fields, plus uploaded files by field name."""
    kind = request.headers.get("content-type", "")
    if kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        try:
            form = await request.form()
        except Exception as exc:  # python-multipart raises several unrelated types
            raise InvalidRequest(f"could not parse the form body: {exc}", code="invalid_request") from None
        fields_: dict[str, object] = {}
        files: dict[str, bytes] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[name] = await value.read()
            else:
                fields_[name] = value
        await form.close()
        return fields_, files
    raw = await request.body()
    if not raw.strip():
        return {}, {}
    try:
        doc = json.loads(raw)
    except ValueError:
        raise InvalidRequest("the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(doc, dict):
        raise InvalidRequest("the request body must be a JSON object", code="invalid_json")
    return doc, {}


@route(R.UNIFIED_QUERY)
async def _unified_query(app: SimApp, ctx: Ctx) -> Reply:
    query = ctx.request.query_params
    task_id = query.get("task_id") or query.get("id")
    if not task_id:
        raise InvalidRequest("task_id is required: GET /v1/video/query?task_id=ID", param="task_id")
    return app.task_reply(ctx, UNIFIED, app.find(ctx, task_id, UNIFIED), create=False)


@route(R.VIDEOS_LIST)
async def _videos_list(app: SimApp, ctx: Ctx) -> Reply:
    query = ctx.request.query_params
    order = query.get("order", "desc")
    limit_text = query.get("limit", "20")
    if order not in ("asc", "desc"):
        raise InvalidRequest("order must be asc or desc", param="order")
    if not limit_text.isdigit() or int(limit_text) > 100:
        raise InvalidRequest("limit must be an integer from 0 to 100", param="limit")
    tasks = app.store.owned(ctx.key)
    if order == "desc":
        tasks.reverse()
    after = query.get("after")
    if after:
        ids = [t.id for t in tasks]
        if after not in ids:
            raise InvalidRequest(f"after: no video {after!r} in this list", param="after")
        tasks = tasks[ids.index(after) + 1 :]
    page = tasks[: int(limit_text)]
    data = [openai_video(t, app.state(t, ctx.config)) for t in page]
    body: Body = {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(tasks) > len(page),
    }
    return Reply(200, body)


@route(R.VIDEOS_DELETE)
async def _videos_delete(app: SimApp, ctx: Ctx) -> Reply:
    task = app.find(ctx, ctx.params["video_id"], VIDEOS)
    if app.state(task, ctx.config).pending:
        raise InvalidRequest(f"video {task.id} is still rendering; delete it once it completed or failed")
    app.store.delete(task.id)
    return Reply(200, {"id": task.id, "object": "video.deleted", "deleted": True})


@route(R.VIDEOS_REMIX)
async def _videos_remix(app: SimApp, ctx: Ctx) -> Reply:
    fields_, _ = await _read_body(ctx.request)
    prompt = prompt_of(fields_)
    src = app.find(ctx, ctx.params["video_id"], VIDEOS)
    if app.state(src, ctx.config).status != "completed":
        raise InvalidRequest(f"video {src.id} is not completed; only a completed video can be remixed")
    old = src.request
    req = RenderRequest(old.model, old.width, old.height, (Shot(prompt, old.seconds),), note=f"remix of {src.id}")
    task = app.accept(ctx, req, VIDEOS, paid=req.seconds, action="remixGenerate", remixed_from=src.id)
    return app.task_reply(ctx, VIDEOS, task, create=True)


@route(R.VIDEOS_EDITS)
async def _videos_edits(app: SimApp, ctx: Ctx) -> Reply:
    return await derive(app, ctx, extend=False)


@route(R.VIDEOS_EXTENSIONS)
async def _videos_extensions(app: SimApp, ctx: Ctx) -> Reply:
    return await derive(app, ctx, extend=True)


@route(R.CHARACTERS_CREATE)
async def _characters_create(app: SimApp, ctx: Ctx) -> Reply:
    fields_, files = await _read_body(ctx.request)
    name = fields_.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise InvalidRequest("name is required (1 to 80 characters)", param="name")
    if "video" not in files:
        raise InvalidRequest("video is required: upload the character's video as a file", param="video")
    await asyncio.to_thread(probe_video, files["video"], "video")
    body: Body = {"id": app.store.new_id("char_", 32), "name": name, "created_at": int(app.clock.wall())}
    app.store.add_character(body["id"], ctx.key, body)
    return Reply(200, body)


@route(R.CHARACTERS_GET)
async def _characters_get(app: SimApp, ctx: Ctx) -> Reply:
    body = app.store.character(ctx.params["character_id"], ctx.key)
    if body is None:
        message = f"Character with id '{ctx.params['character_id']}' not found."
        raise Refusal(Reply(404, api_error(message, type_="invalid_request_error", code="not_found")))
    return Reply(200, body)


@route(R.MODELS_LIST)
async def _models_list(app: SimApp, ctx: Ctx) -> Reply:
    models = ctx.config.models or DEFAULT_MODELS
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "renderkit-simulator"} for m in models]
    return Reply(200, {"object": "list", "data": data})
