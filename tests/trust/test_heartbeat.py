"""Plain output (CI logs) says something about every scene at work at least every 30 seconds."""

from __future__ import annotations

import io

from renderkit.cli.progress import HEARTBEAT, PlainProgress
from renderkit.execute.events import Event


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_scene_at_work_beats_every_30_seconds_and_a_finished_one_falls_silent() -> None:
    out = io.StringIO()
    clock = Clock()
    progress = PlainProgress(out, clock)
    progress(Event("intro", "created", "video_1"))
    progress(Event("intro", "rendering", "in_progress", 10))
    clock.now = HEARTBEAT - 1
    progress(Event("intro", "rendering", "in_progress", 40))  # a poll that changes only progress: no line
    progress.beat()
    assert out.getvalue().count("\n") == 2
    clock.now = HEARTBEAT
    progress.beat()
    assert out.getvalue().splitlines()[-1] == "renderkit: intro: still rendering 40% after 30s"
    clock.now = HEARTBEAT + 10
    progress.beat()
    assert out.getvalue().count("\n") == 3, "the next beat is due 30 s after the last line"
    progress(Event("intro", "rendered", "video_1"))
    clock.now = 10 * HEARTBEAT
    progress.beat()
    assert out.getvalue().splitlines()[-1] == "renderkit: intro: done video_1"


def test_the_heartbeat_thread_stops_with_the_display() -> None:
    with PlainProgress(io.StringIO()) as progress:
        assert progress._beat is not None
        assert progress._beat.is_alive()
    assert not progress._beat.is_alive()
