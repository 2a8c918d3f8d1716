"""The simulator that ``bench/build.py`` runs: ``renderkit sim`` plus a trace of every provider request.

Run: ``python bench/simhost.py`` (127.0.0.1, a free port). Like ``renderkit sim`` it prints
``renderkit simulator listening on http://127.0.0.1:PORT`` first and stops on SIGTERM or Ctrl-C, and it is steered
through the same ``/_sim`` control routes. It serves the simulator unchanged (the same ``Simulator`` the CLI
starts); the only addition is ``GET /_bench/trace?key=KEY``, which returns and forgets what was recorded:

- ``requests``: ``[arrived, finished, method, path, status]`` for every request outside ``/_sim`` and ``/_bench``,
  times on the simulator's monotonic clock (the one its tasks are timed on): arrival, and when the last byte
  of the answer was handed to the server;
- ``tasks``: ``[id, created, latency, ttl]`` for every task of KEY, so when each result became ready
  (``created + latency``) and when it expired are exact, not inferred;
- ``poll_after_ms``: the ``openai-poll-after-ms`` hint sent on pending tasks.

The ledger (``/_sim/ledger``) counts requests; the trace says when, which is what a download backlog, a result's
age at download and the spacing of polls need.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from renderkit.simulator import SimConfig, Simulator
from renderkit.simulator.app import SimApp

Row = tuple[float, float, str, str, int]


class TracingApp(SimApp):
    """The simulator's ASGI app, recording when each provider request came and when its answer was sent."""

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.rows: list[Row] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith("/_sim/"):
            await super().__call__(scope, receive, send)
            return
        if path == "/_bench/trace":
            await self._trace(Request(scope, receive))(scope, receive, send)
            return
        arrived = self.clock.monotonic()
        status = 0
        finished = 0.0

        async def tracked(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = self.clock.monotonic()

        try:
            await super().__call__(scope, receive, tracked)
        finally:
            self.rows.append((arrived, finished or self.clock.monotonic(), str(scope["method"]), path, status))

    def reset(self, config: SimConfig | None = None) -> None:
        """Forget the trace too: a new clock starts with the reset."""
        super().reset(config)
        self.rows = []

    def _trace(self, request: Request) -> JSONResponse:
        key = request.query_params.get("key", "")
        rows, self.rows = self.rows, []
        tasks = [[t.id, t.created, t.latency, t.ttl] for t in self.store.owned(key)]
        return JSONResponse({"requests": rows, "tasks": tasks, "poll_after_ms": self.config.poll_after})


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Serve until SIGTERM or Ctrl-C."""
    sim = Simulator(SimConfig(), log_level="warning")
    sim.app.close()
    sim.app = TracingApp(SimConfig())
    signal.signal(signal.SIGTERM, _stop)
    sim.start()
    print(f"renderkit simulator listening on {sim.base_url}", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
