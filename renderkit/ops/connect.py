"""Open the providers a build uses: one HTTP client, the embedded simulator when needed, and their pacing."""

from __future__ import annotations

import asyncio.selector_events
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import replace

import anyio
import httpcore
import httpx

from renderkit.catalog.kinds import KINDS
from renderkit.execute.jobs import ProviderRuntime
from renderkit.execute.pacing import RateLimiter
from renderkit.manifest.model import Manifest, ProviderConfig
from renderkit.providers.http import Limits, redact
from renderkit.providers.registry import open_provider
from renderkit.providers.scrub import scrub, secret_forms
from renderkit.providers.tls import tls_context

EMBEDDED_LATENCY = 1.5
DEFAULT_JOBS = 8
DEFAULT_TIMEOUT = 3600.0
# `renderkit -v` shows this logger: one line per HTTP exchange, with no header, query string or key.
HTTP_LOG = logging.getLogger("renderkit.http")
# The most one read of a socket takes. httpcore asks for 64 KiB, and anyio's asyncio stream slices what the event
# loop received into copies of that size; the loop itself reads 256 KiB at a time. Each read is a trip through the
# selector, the event loop, anyio, httpcore and h11 that costs far more than its bytes: receiving 1 GiB from the
# simulator took 2.5 s of CPU, 1.5 s with 256 KiB reads and 0.6-0.7 s with 512 KiB ones (1 MiB ones saved little
# more, and their copies in h11 left a few MiB more resident). A read still returns only what has arrived, and
# anyio reads nothing more until it is consumed.
RECEIVE_BYTES = 2**19


@contextlib.asynccontextmanager
async def open_runtimes(
    manifest: Manifest,
    names: Iterable[str],
    keys: Mapping[str, str],
    jobs: int | None,
    environ: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[dict[str, ProviderRuntime]]:
    """Runtimes for the providers ``names``, closed on exit; ``transport`` replaces the network (tests, proxies)."""
    receive_in_large_reads()
    check_idle_sockets_cheaply()
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                timeout=httpx.Timeout(60.0, connect=10.0),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
                trust_env=False,
                verify=tls_context(),
                transport=transport,
                event_hooks=_exchange_log(keys.values()),
            )
        )
        runtimes = {}
        for name in sorted(names):
            cfg = manifest.providers[name]
            base_url = server_of(cfg, environ) or _embedded_simulator(stack)
            runtimes[name] = _runtime(cfg, base_url, keys[name], client, jobs)
        yield runtimes


def receive_in_large_reads() -> None:
    """Have httpcore and asyncio's socket transport read up to RECEIVE_BYTES at a time.

    Process-wide, as neither has a setting per client or per connection; nothing else of theirs changes.
    """
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = RECEIVE_BYTES
    # Private and untyped, though long stable; if it goes, the download test sees reads shrink back to 256 KiB.
    asyncio.selector_events._SelectorSocketTransport.max_size = RECEIVE_BYTES  # type: ignore[attr-defined]


def check_idle_sockets_cheaply() -> None:
    """Have httpcore find each pooled connection's socket once, not on every check of whether the server closed it.

    Each request added to or leaving httpcore's pool checks every pooled connection, and for an idle one asks its
    anyio stream for the raw socket: anyio builds a dict of every socket attribute to answer. A 100-scene cold build
    made 11,000 such checks, 0.56 s of its 4.6 s of CPU, all on the event loop. The answer (whether the socket is
    readable) is unchanged: the socket a stream wraps never changes. Process-wide, like ``receive_in_large_reads``.
    """
    from httpcore._backends.anyio import AnyIOStream  # the backend httpcore uses under asyncio
    from httpcore._utils import is_socket_readable

    if getattr(AnyIOStream.get_extra_info, "renderkit", False):
        return
    ask = AnyIOStream.get_extra_info

    def get_extra_info(self: AnyIOStream, info: str) -> object:
        if info != "is_readable":
            return ask(self, info)
        if "_renderkit_socket" not in self.__dict__:
            self.__dict__["_renderkit_socket"] = ask(self, "socket")
        return is_socket_readable(self.__dict__["_renderkit_socket"])

    get_extra_info.renderkit = True  # type: ignore[attr-defined]
    AnyIOStream.get_extra_info = get_extra_info  # type: ignore[method-assign]


def _exchange_log(keys: Iterable[str]) -> dict[str, list[Callable[..., object]]]:
    """httpx hooks that log each exchange when ``renderkit.http`` is at DEBUG (``-v``); none otherwise."""
    if not HTTP_LOG.isEnabledFor(logging.DEBUG):
        return {}
    forms = tuple(form for key in keys if key for form in secret_forms(key))

    async def sent(request: httpx.Request) -> None:
        request.extensions["renderkit_sent"] = time.monotonic()

    async def answered(response: httpx.Response) -> None:
        request = response.request
        took = time.monotonic() - request.extensions.get("renderkit_sent", time.monotonic())
        kind = response.headers.get("content-type", "").split(";")[0] or "no body"
        where = scrub(redact(str(request.url)), forms)
        HTTP_LOG.debug("http: %s %s -> %d %s (%.0f ms)", request.method, where, response.status_code, kind, took * 1000)

    return {"request": [sent], "response": [answered]}


def server_of(cfg: ProviderConfig, environ: Mapping[str, str]) -> str | None:
    """Where a provider lives: the manifest's base_url, else the kind's variable (OPENAI_BASE_URL), else its
    default; None for a simulator without one, which then runs embedded."""
    kind = KINDS[cfg.kind]
    from_env = environ.get(kind.base_url_env, "").strip() if kind.base_url_env else ""
    return cfg.base_url or from_env or kind.base_url


def _embedded_simulator(stack: contextlib.AsyncExitStack) -> str:
    """Start the in-process simulator for a manifest with no providers; stopped with the stack."""
    from renderkit.simulator import SimConfig, Simulator

    return stack.enter_context(Simulator(SimConfig(latency=EMBEDDED_LATENCY))).base_url


def _runtime(
    cfg: ProviderConfig, base_url: str, key: str, client: httpx.AsyncClient, jobs: int | None
) -> ProviderRuntime:
    limits = Limits()
    if cfg.max_download_mb is not None:
        limits = replace(limits, max_download_bytes=int(cfg.max_download_mb * 2**20))
    if cfg.stall_timeout is not None:
        limits = replace(limits, stall_seconds=cfg.stall_timeout)
    provider = open_provider(
        cfg.kind,
        base_url=base_url,
        api_key=key,
        client=client,
        name=cfg.name,
        api_key_env=cfg.api_key_env,
        limits=limits,
    )
    slots = jobs or cfg.max_in_flight or DEFAULT_JOBS
    if cfg.max_in_flight is not None:
        slots = min(slots, cfg.max_in_flight)
    return ProviderRuntime(
        provider=provider,
        kind=cfg.kind,
        slots=anyio.CapacityLimiter(slots),
        creates=RateLimiter(cfg.rpm / 60.0 if cfg.rpm else None),
        polls=RateLimiter(None),
        poll_interval=cfg.poll_interval,
        deadline=cfg.timeout or DEFAULT_TIMEOUT,
    )
