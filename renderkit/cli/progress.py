"""Build progress on stderr: a live table on a terminal, one plain line per event otherwise (CI)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any

from renderkit.execute.events import Event
from renderkit.plan.plan import Plan, PlanItem

_PHASE_WORD = {
    "waiting": "waiting",
    "creating": "creating",
    "created": "created",
    "rendering": "rendering",
    "downloading": "downloading",
    "rendered": "done",
    "failed": "FAILED",
    "retry": "retrying",
    "warning": "warning:",
}


HEARTBEAT = 30.0  # seconds: CI systems kill jobs that print nothing for a while, and renders take minutes
_BUSY = frozenset({"creating", "created", "rendering", "downloading", "retry"})


class PlainProgress:
    """One line per state change, for logs; a scene still at work says so at least every ``HEARTBEAT`` s."""

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self._last: dict[str, Event] = {}
        self._said: dict[str, float] = {}  # scene -> when its last line was printed
        self._since: dict[str, float] = {}  # scene -> when it started working
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> PlainProgress:
        self._beat = threading.Thread(target=self._beating, name="renderkit-heartbeat", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()

    def _beating(self) -> None:
        while not self._stop.wait(HEARTBEAT / 6):
            self.beat()

    def beat(self) -> None:
        """Print a line for every scene at work that has printed nothing for ``HEARTBEAT`` seconds."""
        now = self.clock()
        with self._lock:
            for scene, event in sorted(self._last.items()):
                if event.phase in _BUSY and now - self._said.get(scene, now) >= HEARTBEAT:
                    elapsed = now - self._since.get(scene, now)
                    pct = f" {event.progress}%" if event.progress is not None else ""
                    self._print(f"{scene}: still {_PHASE_WORD[event.phase]}{pct} after {elapsed:.0f}s", scene, now)

    def planned(self, plan: Plan, todo: Sequence[PlanItem]) -> None:
        """Nothing to show before the first event in a log."""

    def __call__(self, event: Event) -> None:
        now = self.clock()
        with self._lock:
            if not event.scene:
                self._print(f"{_PHASE_WORD[event.phase]} {event.detail}", None, now)
                return
            previous = self._last.get(event.scene)
            self._last[event.scene] = event
            self._since.setdefault(event.scene, now)
            if event.phase == "rendering" and previous is not None and previous.phase == "rendering":
                return  # a poll that changed nothing but progress is not an event worth a log line
            detail = f" {event.detail}" if event.detail else ""
            self._print(f"{event.scene}: {_PHASE_WORD[event.phase]}{detail}", event.scene, now)

    def _print(self, text: str, scene: str | None, now: float) -> None:
        print(f"renderkit: {text}", file=self.stream, flush=True)
        if scene is not None:
            self._said[scene] = now


class LiveProgress:
    """A rich live table: one row per scene, an overall count and the spend so far."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream)
        self.total = 0
        self.costs: dict[str, float | None] = {}
        self.rows: dict[str, tuple[str, str, int | None]] = {}
        self.started = time.monotonic()
        self.live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)

    def _render(self) -> Any:
        from rich.table import Table

        done = sum(1 for phase, _, _ in self.rows.values() if phase == "rendered")
        failed = sum(1 for phase, _, _ in self.rows.values() if phase == "failed")
        spent = sum(self.costs.get(s) or 0.0 for s, (phase, _, _) in self.rows.items() if phase == "rendered")
        elapsed = time.monotonic() - self.started
        title = f"renderkit build: {done}/{self.total} rendered, {failed} failed, ${spent:.2f} spent, {elapsed:.0f}s"
        table = Table(title=title, expand=False)
        table.add_column("scene", no_wrap=True, max_width=28)
        table.add_column("state", no_wrap=True, min_width=11)
        table.add_column("progress", justify="right", no_wrap=True, min_width=8)
        table.add_column("detail", no_wrap=True, overflow="ellipsis", max_width=40)
        # Active scenes first, then failures, then finished ones, as many as the terminal has room for.
        order = {"rendered": 2, "failed": 1}
        rows = sorted(self.rows.items(), key=lambda kv: (order.get(kv[1][0], 0), kv[0]))
        room = max(3, self.console.size.height - 8)
        for scene, (phase, detail, progress) in rows[:room]:
            style = {"rendered": "green", "failed": "red", "retry": "yellow"}.get(phase, "")
            pct = f"{progress}%" if progress is not None else ""
            table.add_row(scene, f"[{style}]{_PHASE_WORD[phase]}[/]" if style else _PHASE_WORD[phase], pct, detail)
        if len(rows) > room:
            table.add_row(f"… {len(rows) - room} more", "", "", "")
        return table

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.live.update(self._render())
        self.live.__exit__(exc_type, exc, tb)

    def planned(self, plan: Plan, todo: Sequence[PlanItem]) -> None:
        """The scenes this build will render and what each costs."""
        self.total = len(todo)
        self.costs = {i.scene.id: i.cost_usd for i in todo}
        self.live.update(self._render())

    def __call__(self, event: Event) -> None:
        if not event.scene:
            self.console.print(f"renderkit: {_PHASE_WORD[event.phase]} {event.detail}")
            return
        old = self.rows.get(event.scene, ("waiting", "", None))
        progress = event.progress if event.progress is not None else old[2]
        if event.phase == "rendered":
            progress = 100
        self.rows[event.scene] = (event.phase, event.detail or old[1], progress)
        self.live.update(self._render())


def progress_for(stream: IO[str]) -> PlainProgress | LiveProgress:
    """A live display on a terminal, plain lines otherwise."""
    if stream.isatty() and stream is sys.stderr:
        return LiveProgress(stream)
    return PlainProgress(stream)
