"""Open the providers a build uses: one HTTP client, the embedded simulator when needed, and their pacing."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import replace

import anyio
import httpx

from renderkit.catalog.kinds import KINDS
from renderkit.execute.jobs import ProviderRuntime
from renderkit.execute.pacing import RateLimiter
from renderkit.manifest.model import Manifest, ProviderConfig
from renderkit.ops.httpcore_patches import tune_httpcore
from renderkit.providers.http import Limits, redact
from renderkit.providers.registry import open_provider
from renderkit.providers.scrub import scrub, secret_forms
from renderkit.providers.tls import tls_context

EMBEDDED_LATENCY = 1.5
DEFAULT_JOBS = 8
DEFAULT_TIMEOUT = 3600.0
# `renderkit -v` shows this logger: one line per HTTP exchange, with no header, query string or key.
HTTP_LOG = logging.getLogger("renderkit.http")


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
    tune_httpcore()
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
