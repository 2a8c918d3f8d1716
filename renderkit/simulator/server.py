"""Run the simulator app under uvicorn in a background thread: the ``Simulator`` context manager."""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from renderkit.simulator.app import SimApp
from renderkit.simulator.config import SimConfig
from renderkit.simulator.ledger import Snapshot
from renderkit.simulator.wire import Transports


@functools.cache
def _client_tls() -> ssl.SSLContext:
    """The context every client of a simulator shares: the simulator speaks plain HTTP, but httpx builds a
    context for each new client otherwise, reading the CA bundle again (about 45 ms)."""
    return ssl.create_default_context()


def _protocol(transports: Transports) -> type[H11Protocol]:
    """uvicorn's h11 protocol, recording each connection's transport so faults can drop it."""

    class Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # asyncio only sets TCP_NODELAY when the socket's proto is TCP, which a socket passed in via
                # sockets= is not; without it, header and body writes stall on delayed ACKs (~40 ms).
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            if self.client:
                transports[self.client] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                transports.pop(self.client, None)
            super().connection_lost(exc)

    return Protocol


class Simulator:
    """The simulator on its own thread; ``with Simulator(SimConfig()) as sim: sim.base_url``.

    The handle also steers a running simulator: ``add_fault``, ``clear_faults``, ``configure``, ``advance``
    (move the clock instead of sleeping), ``reset``, ``ledger`` and ``wait_for`` (block on a ledger predicate).
    """

    def __init__(self, config: SimConfig | None = None, *, log_level: str = "critical") -> None:
        self.app = SimApp(config or SimConfig())
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._stopped = False

    @property
    def config(self) -> SimConfig:
        """The settings in force."""
        return self.app.config

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (no trailing slash); the OpenAI SDK wants ``base_url + "/v1"``."""
        if self._sock is None:
            raise RuntimeError("the simulator is not running; use it as a context manager or call start()")
        host, port = self._sock.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> Simulator:
        """Bind, serve on a daemon thread, and return once requests are accepted."""
        if self._thread is not None or self._stopped:
            raise RuntimeError("a simulator starts once; create a new Simulator to start again")
        config = self.app.config
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        self._sock = socket.create_server((config.host, config.port), family=family)
        uv_config = uvicorn.Config(
            self.app,
            http=_protocol(self.app.transports),
            lifespan="off",
            log_level=self._log_level,
            access_log=False,
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="renderkit-sim", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.app.close()
        self._server = self._thread = None
        self._stopped = True

    def serve_forever(self) -> None:
        """Block until the server thread ends (KeyboardInterrupt propagates to the caller)."""
        if self._thread is None:
            raise RuntimeError("start() the simulator first")
        while self._thread.is_alive():
            self._thread.join(timeout=0.25)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def ledger(self) -> Snapshot:
        """Creates, paid seconds, requests per route, responses per status, injected faults."""
        return self.app.ledger.snapshot()

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 10.0) -> Snapshot:
        """Block until ``predicate(ledger)`` holds; TimeoutError otherwise."""
        return self.app.ledger.wait_for(predicate, timeout)

    def add_fault(self, spec: str) -> None:
        """Activate a fault (see ``renderkit.simulator.faults`` for the syntax)."""
        self.app.faults.add(spec)

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.app.faults.clear()

    def configure(self, **changes: Any) -> SimConfig:
        """Change settings (dialect, latency, limits, keys, ...) without restarting."""
        return self.app.configure(**changes)

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward, e.g. past a task's latency or its expiry."""
        self.app.clock.advance(seconds)

    def reset(self, config: SimConfig | None = None) -> None:
        """Forget tasks, counts, faults and clock jumps; optionally adopt ``config``."""
        self.app.reset(config)

    def client(self, api_key: str = "sk-test", **kwargs: Any) -> httpx.Client:
        """An httpx client for this simulator with a bearer key."""
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, **{"verify": _client_tls(), **kwargs})
