"""The simulator's ASGI app: routing, faults, per-key limits, the ledger and the control routes.

Control routes (no auth, not counted in the ledger): ``GET /_sim/ledger``; ``GET|POST|DELETE /_sim/faults``
(POST ``{"spec": SPEC}``); ``POST /_sim/config`` (any SimConfig field but the address); ``POST /_sim/advance``
(``{"seconds": S}``, moves the clock); ``POST /_sim/reset`` (forget tasks, counts, faults; keep settings).
Unknown routes answer 404 ``{"error":{"message":"Invalid URL (METHOD PATH)",...}}`` like the gateway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive, Scope, Send

from renderkit.simulator import lies
from renderkit.simulator.clock import Clock
from renderkit.simulator.config import SimConfig
from renderkit.simulator.dialects import VIDEOS, api_error, task_body
from renderkit.simulator.faults import Fault, FaultSet
from renderkit.simulator.handlers import HANDLERS, Ctx
from renderkit.simulator.inputs import InvalidRequest, RenderRequest
from renderkit.simulator.ledger import Ledger
from renderkit.simulator.limits import RateWindow
from renderkit.simulator.media import MediaCache
from renderkit.simulator.replies import (
    authenticate,
    family_of,
    injected,
    internal_error,
    invalid,
    model_not_found,
    not_found,
    rate_limited,
)
from renderkit.simulator.tasks import State, Store, Task, state_of
from renderkit.simulator.wire import Refusal, Reply, Transports, drop, send_reply

log = logging.getLogger("renderkit.simulator")
FIXED = ("host", "port", "allow_remote")  # config fields that need a restart


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
        self._latencies = random.Random(f"latency:{config.seed or 0}")
        self.window = RateWindow()
        # One render per core: each render runs one x264 thread, so more workers would only contend.
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="renderkit-render")
        self.media = MediaCache(self._pool)
        self.transports: Transports = {}
        # Literal segments win over parameters, so /v1/videos/characters/{id} beats /v1/videos/{id}/content.
        ordered = sorted(HANDLERS, key=lambda t: [part.startswith("{") for part in t.split("/")])
        self._routes = [(t, *_pattern(t)) for t in ordered]

    def configure(self, **changes: Any) -> SimConfig:
        """Change any setting but the listening address; faults and seed changes restart the fault set."""
        fixed = set(changes) & set(FIXED)
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} cannot change while running; start a new simulator")
        unknown = set(changes) - {f.name for f in fields(SimConfig)}
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        listed = ("api_keys", "faults", "models")
        changes = {**changes, **{k: tuple(changes[k]) for k in listed if k in changes}}
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
        self._latencies = random.Random(f"latency:{self.config.seed or 0}")
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
            await send_reply(send, internal_error(exc))

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
            message = f"Invalid URL ({method} {path})"
            ledger.response(404)
            await send_reply(send, Reply(404, api_error(message, type_="invalid_request_error", code="", param="")))
            return
        ledger.request(template if method != "HEAD" else "HEAD" + template.removeprefix("GET"))
        hits = tuple(self.faults.pick(template))
        for fault in hits:
            ledger.fault(fault.kind if fault.kind != "status" else str(fault.status))
        if any(f.kind == "slow" for f in hits):
            await asyncio.sleep(max(f.seconds for f in hits if f.kind == "slow"))
        if any(f.kind == "drop" for f in hits):
            await drop(scope, receive, self.transports)
            return
        lie = next((f for f in hits if f.kind in lies.LIES), None)
        if lie is not None and lie.kind != "trickle":
            ledger.response(200)
            await self._lie(send, receive, lie)
            return
        reply = await self._answer(request, template, params, hits)
        if lie is not None:
            ledger.response(reply.status)
            await lies.trickle(send, reply, lie.seconds if lie.param else 2.0)
            return
        if any(f.kind == "drop-after" for f in hits):
            await drop(scope, receive, self.transports)
            return
        cut = next((f.fraction for f in hits if f.kind == "truncate"), None)
        # Counted before sending, so a client that has its answer always finds it in the ledger.
        ledger.response(reply.status)
        complete = await send_reply(send, reply, cut=cut, head=method == "HEAD")
        if not complete:
            await drop(scope, receive, self.transports)

    def _latency(self, config: SimConfig) -> float:
        """This task's create-to-completed time: the configured latency, spread when asked."""
        if not config.latency_spread:
            return config.latency
        return self._latencies.uniform(config.latency - config.latency_spread, config.latency + config.latency_spread)

    async def _lie(self, send: Send, receive: Receive, lie: Fault) -> None:
        size = float(lie.param) if lie.param else None
        if lie.kind == "huge":
            await lies.huge(send, size or 64)
        elif lie.kind == "bomb":
            await lies.bomb(send, size or 256)
        elif lie.kind == "endless":
            await lies.endless(send, receive)
        else:
            await send_reply(send, lies.pages())

    async def _answer(self, request: Request, template: str, params: dict[str, str], hits: tuple[Fault, ...]) -> Reply:
        config = self.config
        status_fault = next((f for f in hits if f.kind == "status"), None)
        if status_fault is not None and status_fault.status is not None:
            return injected(status_fault.status, status_fault.retry_after)
        try:
            key = authenticate(request, config)
            base = f"{request.url.scheme}://{request.url.netloc}"
            ctx = Ctx(request, params, config, key, hits, base)
            return await HANDLERS[template](self, ctx)
        except Refusal as refusal:
            return refusal.reply
        except InvalidRequest as exc:
            return invalid(exc, config.dialect, family_of(template))
        except ClientDisconnect:
            # The client hung up before its body was read (nginx's 499): nothing to handle, nobody to answer.
            return Reply(499, api_error("the client closed the connection", type_="invalid_request_error"))
        except Exception as exc:
            # Never let a bug look like a dropped connection: the client gets a JSON 500 instead.
            log.exception("simulator error on %s", template)
            return internal_error(exc)

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
            raise Refusal(not_found(ctx.config.dialect, family, task_id or ""))
        return task

    def accept(self, ctx: Ctx, req: RenderRequest, family: str, *, paid: int, action: str = "", **extra: Any) -> Task:
        """Check the key's limits, then record and charge a new task."""
        config = ctx.config
        now = self.clock.monotonic()
        if config.models and req.model not in config.models:
            raise Refusal(model_not_found(req.model))
        if config.rpm is not None:
            wait = self.window.wait(ctx.key, now, config.rpm, config.rate_window)
            if wait > 0:
                raise Refusal(rate_limited(wait, f"Rate limit reached: {config.rpm} creates per minute"))
        if config.max_in_flight is not None:
            pending = self.store.unfinished(ctx.key, now)
            if len(pending) >= config.max_in_flight:
                wait = min(t.created + t.latency for t in pending) - now
                raise Refusal(rate_limited(wait, f"Too many unfinished tasks: at most {config.max_in_flight}"))
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
            latency=self._latency(config),
            ttl=config.ttl,
            url_ttl=config.url_ttl,
            stamp=stamp,
            fps=config.fps,
            fail=fail,
            expire_now=any(f.kind == "expire" for f in ctx.faults),
            echo_key=config.echo_key,
            **extra,
        )
        self.store.add(task)
        self.window.record(ctx.key, now)
        self.ledger.create(paid)
        return task
