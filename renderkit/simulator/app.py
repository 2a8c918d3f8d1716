"""The simulator's ASGI app: every route of the three families, the OpenAI extras, faults and the ledger.

Routes (shapes per dialect: see ``dialects``):

- family 1: ``POST /v1/video/generations``, ``GET /v1/video/generations/{task_id}``;
- family 2: ``POST /v1/video/create``, ``GET /v1/video/query?task_id=`` (or ``?id=``);
- family 3 and the OpenAI Videos API: ``POST/GET /v1/videos``, ``GET/DELETE /v1/videos/{id}``,
  ``GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`` (also HEAD), ``POST
  /v1/videos/{id}/remix``, ``POST /v1/videos/edits``, ``POST /v1/videos/extensions``, ``POST
  /v1/videos/characters``, ``GET /v1/videos/characters/{id}``;
- control (no auth, not counted): ``GET /_sim/ledger``, ``GET|POST|DELETE /_sim/faults`` (``{"spec"}``),
  ``POST /_sim/config`` (any SimConfig field but the address), ``POST /_sim/advance`` (``{"seconds"}``),
  ``POST /_sim/reset``.

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
import logging
import math
import os
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from renderkit.simulator import routes as R
from renderkit.simulator.clock import Clock
from renderkit.simulator.config import SimConfig
from renderkit.simulator.content import Payload, Unsatisfiable, pad_mp4, parse_range
from renderkit.simulator.dialects import (
    GENERATIONS,
    UNIFIED,
    UPPER,
    VIDEOS,
    Body,
    api_error,
    openai_video,
    task_body,
    task_error,
    uses_task_envelope,
)
from renderkit.simulator.faults import Fault, FaultSet
from renderkit.simulator.inputs import InvalidRequest, RenderRequest, Shot, parse_create, prompt_of, seconds_of
from renderkit.simulator.ledger import Ledger
from renderkit.simulator.limits import RateWindow
from renderkit.simulator.media import VARIANTS, MediaCache, etag
from renderkit.simulator.render import probe_video
from renderkit.simulator.tasks import State, Store, Task, state_of
from renderkit.simulator.wire import Refusal, Reply, Transports, drop, send_reply

log = logging.getLogger("renderkit.simulator")
FIXED = ("host", "port", "allow_remote")  # config fields that need a restart


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
_HANDLERS: dict[str, Handler] = {}


def route(template: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``METHOD /path/{param}``."""

    def register(handler: Handler) -> Handler:
        _HANDLERS[template] = handler
        return handler

    return register


def _pattern(template: str) -> tuple[str, re.Pattern[str]]:
    method, path = template.split(" ", 1)
    return method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


class SimApp:
    """ASGI app holding the simulator's state; safe to inspect and reconfigure from other threads."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.ledger = Ledger()
        self.faults = FaultSet(config.faults, config.seed)
        self.store = Store(config.seed)
        self.window = RateWindow()
        # One render per core: each render runs one x264 thread, so more workers would only contend.
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="renderkit-render")
        self.media = MediaCache(self._pool)
        self.transports: Transports = {}
        # Literal segments win over parameters, so /v1/videos/characters/{id} beats /v1/videos/{id}/content.
        ordered = sorted(_HANDLERS, key=lambda t: [part.startswith("{") for part in t.split("/")])
        self._routes = [(t, *_pattern(t)) for t in ordered]

    def configure(self, **changes: Any) -> SimConfig:
        """Change any setting but the listening address; faults and seed changes restart the fault set."""
        fixed = set(changes) & set(FIXED)
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} cannot change while running; start a new simulator")
        unknown = set(changes) - {f.name for f in fields(SimConfig)}
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if "api_keys" in changes or "faults" in changes:
            changes = {**changes, **{k: tuple(changes[k]) for k in ("api_keys", "faults") if k in changes}}
        config = replace(self.config, **changes)
        if "faults" in changes or "seed" in changes:
            self.faults = FaultSet(config.faults, config.seed)
        self.store.seed = config.seed
        self.config = config
        return config

    def reset(self, config: SimConfig | None = None) -> None:
        """Forget every task, count, fault and clock jump; optionally adopt ``config`` (same address)."""
        if config is not None:
            self.config = replace(config, **{k: getattr(self.config, k) for k in FIXED})
        self.clock = Clock()
        self.ledger = Ledger()
        self.faults = FaultSet(self.config.faults, self.config.seed)
        self.store = Store(self.config.seed)
        self.window = RateWindow()
        self.media = MediaCache(self._pool)

    def close(self) -> None:
        """Stop the render workers (renders under way finish in the background)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._serve(scope, receive, tracked)
        except Exception as exc:
            log.exception("simulator error outside a route handler")
            if started:
                raise  # headers are out: closing the connection is all that is left
            await send_reply(send, _internal(exc))

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        method, path = request.method, request.url.path
        if path.startswith("/_sim/"):
            await send_reply(send, await self._control(request))
            return
        # HEAD is GET without a body (resumable downloaders probe sizes with it).
        template, params = self._match("GET" if method == "HEAD" else method, path)
        ledger = self.ledger
        if template is None:
            ledger.request(f"{method} <unmatched>")
        else:
            ledger.request(template if method != "HEAD" else "HEAD" + template.removeprefix("GET"))
        if template is None:
            message = f"Invalid URL ({method} {path})"
            reply = Reply(404, api_error(message, type_="invalid_request_error", code="", param=""))
            ledger.response(404)
            await send_reply(send, reply)
            return
        hits = tuple(self.faults.pick(template))
        for fault in hits:
            ledger.fault(fault.kind if fault.kind != "status" else str(fault.status))
        if any(f.kind == "slow" for f in hits):
            await asyncio.sleep(max(f.seconds for f in hits if f.kind == "slow"))
        if any(f.kind == "drop" for f in hits):
            await drop(scope, receive, self.transports)
            return
        reply = await self._answer(request, template, params, hits)
        if any(f.kind == "drop-after" for f in hits):
            await drop(scope, receive, self.transports)
            return
        cut = next((f.fraction for f in hits if f.kind == "truncate"), None)
        # Counted before sending, so a client that has its answer always finds it in the ledger.
        ledger.response(reply.status)
        complete = await send_reply(send, reply, cut=cut, head=method == "HEAD")
        if not complete:
            await drop(scope, receive, self.transports)

    async def _answer(self, request: Request, template: str, params: dict[str, str], hits: tuple[Fault, ...]) -> Reply:
        config = self.config
        status_fault = next((f for f in hits if f.kind == "status"), None)
        if status_fault is not None and status_fault.status is not None:
            return _injected(status_fault.status)
        try:
            key = _auth(request, config)
            base = f"{request.url.scheme}://{request.url.netloc}"
            ctx = Ctx(request, params, config, key, hits, base)
            return await _HANDLERS[template](self, ctx)
        except Refusal as refusal:
            return refusal.reply
        except InvalidRequest as exc:
            return _invalid(exc, config.dialect, _family(template))
        except Exception as exc:
            # Never let a bug look like a dropped connection: the client gets a JSON 500 instead.
            log.exception("simulator error on %s", template)
            return _internal(exc)

    def _match(self, method: str, path: str) -> tuple[str | None, dict[str, str]]:
        for template, verb, pattern in self._routes:
            found = pattern.match(path)
            if found and verb == method:
                return template, found.groupdict()
        return None, {}

    async def _control(self, request: Request) -> Reply:
        action = (request.method, request.url.path)
        try:
            body = json.loads(await request.body() or b"{}")
            if action == ("GET", "/_sim/ledger"):
                return Reply(200, self.ledger.snapshot())
            if action == ("GET", "/_sim/faults"):
                return Reply(200, {"faults": self.faults.specs()})
            if action == ("POST", "/_sim/faults"):
                self.faults.add(str(body["spec"]))
                return Reply(200, {"faults": self.faults.specs()})
            if action == ("DELETE", "/_sim/faults"):
                self.faults.clear()
                return Reply(200, {"faults": []})
            if action == ("POST", "/_sim/config"):
                return Reply(200, {"dialect": self.configure(**body).dialect})
            if action == ("POST", "/_sim/advance"):
                self.clock.advance(float(body["seconds"]))
                return Reply(200, {"advanced": float(body["seconds"])})
            if action == ("POST", "/_sim/reset"):
                self.reset()
                return Reply(200, {"reset": True})
        except (ValueError, KeyError, TypeError) as exc:
            return Reply(400, api_error(str(exc), type_="invalid_request_error", code="invalid_control"))
        return Reply(404, api_error(f"unknown control route {action[0]} {action[1]}", type_="invalid_request_error"))

    # -- tasks ----------------------------------------------------------------------------------------------

    def state(self, task: Task, config: SimConfig) -> State:
        """``task``'s state now."""
        return state_of(task, self.clock.monotonic(), config.status_lag)

    def task_reply(self, ctx: Ctx, family: str, task: Task, *, create: bool) -> Reply:
        st = self.state(task, ctx.config)
        body = task_body(ctx.config.dialect, family, task, st, ctx.base, self.clock.wall(), create=create)
        headers = {"openai-poll-after-ms": str(ctx.config.poll_after)} if st.pending else {}
        return Reply(200, body, headers)

    def find(self, ctx: Ctx, task_id: str | None, family: str) -> Task:
        task = self.store.get(task_id, ctx.key) if task_id else None
        if task is None:
            raise Refusal(_not_found(ctx.config.dialect, family, task_id or ""))
        return task

    def accept(self, ctx: Ctx, req: RenderRequest, family: str, *, paid: int, action: str = "", **extra: Any) -> Task:
        """Check the key's limits, then record and charge a new task."""
        config = ctx.config
        now = self.clock.monotonic()
        if config.rpm is not None:
            wait = self.window.wait(ctx.key, now, config.rpm, config.rate_window)
            if wait > 0:
                raise Refusal(_rate_limited(wait, f"Rate limit reached: {config.rpm} creates per minute"))
        if config.max_in_flight is not None:
            pending = self.store.unfinished(ctx.key, now)
            if len(pending) >= config.max_in_flight:
                wait = min(t.created + t.latency for t in pending) - now
                raise Refusal(_rate_limited(wait, f"Too many unfinished tasks: at most {config.max_in_flight}"))
        prefix, length = ("video_", 48) if family == VIDEOS else ("task_", 32)
        task_id = self.store.new_id(prefix, length)
        seed = config.seed
        stamp = task_id if seed is None else f"seed {seed} {req.fingerprint()[:16]}"
        fail = next((f.code for f in ctx.faults if f.kind == "fail"), None)
        task = Task(
            id=task_id,
            owner=ctx.key,
            seq=self.store.next_seq(),
            request=req,
            action=action or ("generate" if req.image or req.note.startswith("image") else "textGenerate"),
            created=now,
            created_wall=self.clock.wall(),
            latency=config.latency,
            ttl=config.ttl,
            stamp=stamp,
            fps=config.fps,
            fail=fail,
            expire_now=any(f.kind == "expire" for f in ctx.faults),
            **extra,
        )
        self.store.add(task)
        self.window.record(ctx.key, now)
        self.ledger.create(paid)
        return task

    async def create(self, ctx: Ctx, family: str) -> Reply:
        """Any family's plain create."""
        fields_, files = await _read_body(ctx.request)
        req = parse_create(fields_, files, require_model=family != VIDEOS)
        task = self.accept(ctx, req, family, paid=req.seconds, private=_flag(fields_.get("private")))
        return self.task_reply(ctx, family, task, create=True)

    async def derive(self, ctx: Ctx, *, extend: bool) -> Reply:
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
            src = self.find(ctx, ref_id, VIDEOS)
            width, height, seconds = src.request.width, src.request.height, src.request.seconds
            model, source = src.request.model, src.id
        shots = (Shot(prompt, seconds + added),)
        verb = "extension" if extend else "edit"
        req = RenderRequest(model, width, height, shots, note=f"{verb} of {source}")
        task = self.accept(ctx, req, VIDEOS, paid=added or seconds)
        return self.task_reply(ctx, VIDEOS, task, create=True)

    async def content(self, ctx: Ctx) -> Reply:
        """Serve a finished task's video, thumbnail or spritesheet, honouring Range."""
        variant = ctx.request.query_params.get("variant", "video")
        if variant not in VARIANTS:
            raise InvalidRequest(f"variant must be one of {', '.join(VARIANTS)}", param="variant")
        task = self.store.get(ctx.params["video_id"], ctx.key)
        if task is None:
            raise Refusal(Reply(404, api_error("Task not found", type_="invalid_request_error", code="not_found")))
        st = self.state(task, ctx.config)
        if st.status != "completed":
            message = f"Task is not completed yet, current status: {UPPER[st.status]}"
            raise Refusal(Reply(400, api_error(message, type_="invalid_request_error", code="not_ready")))
        if st.expired or any(f.kind == "expire" for f in ctx.faults):
            message = f"The assets of {task.id} expired at {st.expires_at}; create the video again"
            raise Refusal(Reply(410, api_error(message, type_="invalid_request_error", code="video_expired")))
        data = await self.media.get(task, variant)
        parts = pad_mp4(data, ctx.config.pad_to) if variant == "video" else (data,)
        size = sum(p if isinstance(p, int) else len(p) for p in parts)
        payload = Payload(parts, VARIANTS[variant], etag(task, variant, size))
        headers = {"accept-ranges": "bytes", "etag": payload.etag, "cache-control": "public, max-age=86400"}
        try:
            span = parse_range(ctx.request.headers.get("range"), size)
        except Unsatisfiable:
            headers = {"content-range": f"bytes */{size}"}
            raise Refusal(
                Reply(416, api_error("Range not satisfiable", type_="invalid_request_error"), headers)
            ) from None
        if span is None:
            return Reply(200, headers=headers, payload=payload)
        headers["content-range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
        return Reply(206, headers=headers, payload=payload, span=span)


# -- helpers --------------------------------------------------------------------------------------------------


def _family(template: str) -> str:
    if "/v1/video/generations" in template:
        return GENERATIONS
    if "/v1/video/" in template:
        return UNIFIED
    return VIDEOS


def _auth(request: Request, config: SimConfig) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key", "").strip()
    gateway = config.dialect != "openai"
    if not key:
        message = "Token not provided" if gateway else "You didn't provide an API key; send Authorization: Bearer KEY"
        raise Refusal(_unauthorized(message, gateway))
    if config.api_keys and key not in config.api_keys:
        message = "Invalid token" if gateway else "Incorrect API key provided"
        raise Refusal(_unauthorized(message, gateway))
    return key


def _unauthorized(message: str, gateway: bool) -> Reply:
    if gateway:
        return Reply(401, api_error(message, type_="new_api_error", code=""))
    return Reply(401, api_error(message, type_="invalid_request_error", code="invalid_api_key"))


def _rate_limited(wait: float, message: str) -> Reply:
    wait = max(wait, 0.001)
    headers = {"retry-after": str(max(1, math.ceil(wait))), "retry-after-ms": str(max(1, math.ceil(wait * 1000)))}
    return Reply(429, api_error(message, type_="rate_limit_error", code="rate_limit_exceeded"), headers)


def _internal(exc: Exception) -> Reply:
    return Reply(500, api_error(f"internal simulator error: {exc!r}", type_="server_error", code="internal"))


def _injected(status: int) -> Reply:
    headers = {"retry-after": "1", "retry-after-ms": "1000"} if status == 429 else {}
    type_ = "server_error" if status >= 500 else "invalid_request_error"
    return Reply(status, api_error(f"injected fault: HTTP {status}", type_=type_, code="injected_fault"), headers)


def _not_found(dialect: str, family: str, task_id: str) -> Reply:
    if uses_task_envelope(dialect, family):
        return Reply(400, task_error("task_not_exist", "task_not_exist"))
    message = f"Video with id '{task_id}' not found."
    return Reply(404, api_error(message, type_="invalid_request_error", code="not_found"))


def _invalid(exc: InvalidRequest, dialect: str, family: str) -> Reply:
    if uses_task_envelope(dialect, family):
        return Reply(400, task_error(exc.code, exc.message))
    return Reply(400, api_error(exc.message, type_="invalid_request_error", code=exc.code, param=exc.param))


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


# -- routes ---------------------------------------------------------------------------------------------------


@route(R.GENERATIONS_CREATE)
async def _generations_create(app: SimApp, ctx: Ctx) -> Reply:
    return await app.create(ctx, GENERATIONS)


@route(R.UNIFIED_CREATE)
async def _unified_create(app: SimApp, ctx: Ctx) -> Reply:
    return await app.create(ctx, UNIFIED)


@route(R.VIDEOS_CREATE)
async def _videos_create(app: SimApp, ctx: Ctx) -> Reply:
    return await app.create(ctx, VIDEOS)


@route(R.GENERATIONS_GET)
async def _generations_get(app: SimApp, ctx: Ctx) -> Reply:
    return app.task_reply(ctx, GENERATIONS, app.find(ctx, ctx.params["task_id"], GENERATIONS), create=False)


@route(R.UNIFIED_QUERY)
async def _unified_query(app: SimApp, ctx: Ctx) -> Reply:
    query = ctx.request.query_params
    task_id = query.get("task_id") or query.get("id")
    if not task_id:
        raise InvalidRequest("task_id is required: GET /v1/video/query?task_id=ID", param="task_id")
    return app.task_reply(ctx, UNIFIED, app.find(ctx, task_id, UNIFIED), create=False)


@route(R.VIDEOS_GET)
async def _videos_get(app: SimApp, ctx: Ctx) -> Reply:
    return app.task_reply(ctx, VIDEOS, app.find(ctx, ctx.params["video_id"], VIDEOS), create=False)


@route(R.VIDEOS_CONTENT)
async def _videos_content(app: SimApp, ctx: Ctx) -> Reply:
    return await app.content(ctx)


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
    return await app.derive(ctx, extend=False)


@route(R.VIDEOS_EXTENSIONS)
async def _videos_extensions(app: SimApp, ctx: Ctx) -> Reply:
    return await app.derive(ctx, extend=True)


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
