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


NOTIONAL = "note: the simulator charges nothing; its prices are notional"


def headline(count: int, planned_usd: float, unknown: int) -> str:
    """What the build is about to do and spend: the first thing either display shows."""
    unpriced = f" + {unknown} unpriced" if unknown else ""
    return f"renderkit build: {count} scene(s) to render, ${planned_usd:.2f}{unpriced} planned"


def _simulated(plan: Plan, todo: Sequence[PlanItem]) -> bool:
    """Whether any render goes to the simulator, whose prices are only notional."""
    from renderkit.manifest.load import SIMULATOR

    return SIMULATOR in {plan.manifest.providers[i.scene.provider].kind for i in todo}


HEARTBEAT = 30.0  # seconds: CI systems kill jobs that print nothing for a while, and renders take minutes
_BUSY = frozenset({"creating", "created", "rendering", "downloading", "retry"})


class PlainProgress:
    """One line per state change, for logs; a scene still at work says so at least every ``HEARTBEAT`` s."""

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic, *, quiet: bool = False) -> None:
        self.stream = stream
        self.clock = clock
        self.quiet = quiet  # -q: warnings and failures only, no heartbeat
        self._last: dict[str, Event] = {}
        self._said: dict[str, float] = {}  # scene -> when its last line was printed
        self._since: dict[str, float] = {}  # scene -> when it started working
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> PlainProgress:
        if self.quiet:
            return self
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
        """The plan's headline, so a log says up front what the build will render and spend."""
        if self.quiet or not todo:
            return
        cost = sum(i.cost_usd or 0.0 for i in todo)
        lines = [headline(len(todo), cost, sum(1 for i in todo if i.cost_usd is None))]
        if _simulated(plan, todo):
            lines.append(f"renderkit: {NOTIONAL}")
        with self._lock:
            print("\n".join(lines), file=self.stream, flush=True)

    def __call__(self, event: Event) -> None:
        if self.quiet and event.phase not in ("warning", "failed"):
            return
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


_ACTIVE = frozenset({"creating", "created", "rendering", "downloading", "retry", "waiting"})
_SCENE_WIDTH = 24
_ORDER = {"failed": 1, "queued": 2, "rendered": 3}  # rows shown first when the terminal is short: active ones


def _clock_text(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` past an hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LiveProgress:
    """Rich progress widgets: a row per planned scene (queued ones too), then the planned total, spend and ETA.

    Sized for 80 columns: the scene column is cut with an ellipsis, the bars are narrow, nothing wraps.
    """

    def __init__(self, stream: IO[str], clock: Callable[[], float] = time.monotonic, **console: Any) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.table import Column

        self.console = Console(file=stream, **console)
        self.clock = clock
        self.started = clock()
        self.costs: dict[str, float] = {}
        self.planned_usd = 0.0
        self.unknown = 0
        self.notional = False
        self.rows: dict[str, tuple[str, int]] = {}  # scene -> (phase or "queued", percent)
        self.tasks: dict[str, Any] = {}  # scene -> its rich task id
        self._lock = threading.Lock()
        bar = 20 if self.console.width < 120 else 40

        def text(field: str, width: int | None = None) -> Any:
            return TextColumn(field, table_column=Column(width=width, no_wrap=True, overflow="ellipsis"))

        self.scenes = Progress(
            text("{task.description}", _SCENE_WIDTH),
            BarColumn(bar_width=bar, finished_style="green"),
            text("{task.fields[state]}"),
            console=self.console,
        )
        self.totals = Progress(
            text("[bold]{task.description}"),
            BarColumn(bar_width=bar),
            text("{task.fields[summary]}"),
            console=self.console,
        )
        self.total_task = self.totals.add_task("total", total=None, summary="planning")
        self.live = Live(console=self.console, get_renderable=self._render, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.live.__exit__(exc_type, exc, tb)

    def planned(self, plan: Plan, todo: Sequence[PlanItem]) -> None:
        """The scenes this build will render, each with a queued row, and what they cost together."""
        with self._lock:
            self.started = self.clock()
            self.costs = {i.scene.id: i.cost_usd or 0.0 for i in todo}
            self.planned_usd = sum(self.costs.values())
            self.unknown = sum(1 for i in todo if i.cost_usd is None)
            self.notional = _simulated(plan, todo)
            for item in todo:
                self._add(item.scene.id)
            self.totals.update(self.total_task, total=100 * max(1, len(todo)), completed=0)

    def _add(self, scene: str) -> None:
        """A row for ``scene``, queued until its first event."""
        self.rows[scene] = ("queued", 0)
        self.tasks[scene] = self.scenes.add_task(scene, total=100, state="queued", key=scene)

    def __call__(self, event: Event) -> None:
        if not event.scene:
            self.console.print(f"renderkit: {_PHASE_WORD[event.phase]} {event.detail}", highlight=False)
            return
        with self._lock:
            if event.scene not in self.rows:
                self._add(event.scene)
            percent = self.rows[event.scene][1]
            if event.progress is not None:
                percent = event.progress
            if event.phase in ("downloading", "rendered"):
                percent = 100
            self.rows[event.scene] = (event.phase, percent)
            self.scenes.update(self.tasks[event.scene], completed=percent, state=self._state(event, percent))

    @staticmethod
    def _state(event: Event, percent: int) -> str:
        """The row's words: a failure says FAILED and why, never a percentage."""
        word = _PHASE_WORD[event.phase]
        if event.phase == "failed":
            return f"[red]FAILED[/] {event.detail}"
        if event.phase == "rendering":
            return f"{word} {percent}%"
        if event.phase in ("retry", "waiting") and event.detail:
            return f"[yellow]{word}[/] {event.detail}" if event.phase == "retry" else f"{word} {event.detail}"
        return word

    def _render(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        with self._lock:
            rows = self.rows
            done = sum(1 for phase, _ in rows.values() if phase == "rendered")
            failed = sum(1 for phase, _ in rows.values() if phase == "failed")
            spent = sum(self.costs.get(s, 0.0) for s, (phase, _) in rows.items() if phase == "rendered")
            finished = sum(100 if phase in ("rendered", "failed") else pct for phase, pct in rows.values())
            share = finished / (100 * len(rows)) if rows else 0.0
            elapsed = self.clock() - self.started
            eta = _clock_text(elapsed * (1 - share) / share) if share > 0 else "-:--"
            unknown = f" + {self.unknown} unpriced" if self.unknown else ""
            outcome = f"{done}/{len(rows)} done" + (f", {failed} failed" if failed else "")
            summary = (
                f"{outcome} · ${spent:.2f} of ${self.planned_usd:.2f}{unknown} · {_clock_text(elapsed)} · ETA {eta}"
            )
            self.totals.update(self.total_task, completed=finished, summary=summary)
            hidden = self._fit(rows)
        parts: list[Any] = [Text(headline(len(rows), self.planned_usd, self.unknown))]
        if self.notional:
            parts.append(Text(NOTIONAL, style="dim"))
        parts.append(self.scenes)
        if hidden:
            parts.append(Text(f"… {hidden} more row(s) (done or queued) off screen", style="dim"))
        parts.append(self.totals)
        return Group(*parts)

    def _fit(self, rows: dict[str, tuple[str, int]]) -> int:
        """Show as many rows as the terminal has room for, active scenes first; return how many are hidden."""
        room = max(3, self.console.size.height - 6)
        ranked = sorted(rows, key=lambda scene: _ORDER.get(rows[scene][0], 0))
        shown = set(ranked[:room])
        for task in self.scenes.tasks:
            visible = task.fields["key"] in shown
            if task.visible != visible:
                self.scenes.update(task.id, visible=visible)
        return max(0, len(rows) - room)


def progress_for(stream: IO[str], *, quiet: bool = False) -> PlainProgress | LiveProgress:
    """A live display on a terminal, plain lines otherwise; ``quiet`` prints only warnings and failures."""
    if quiet:
        return PlainProgress(stream, quiet=True)
    if stream.isatty() and stream is sys.stderr:
        return LiveProgress(stream)
    return PlainProgress(stream)
