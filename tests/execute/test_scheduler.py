"""The executor's paid paths on virtual time: a fake provider answers from queues, a fake clock never sleeps.

The simulator covers these end to end over HTTP; here each retry, recovery and refusal is driven exactly, and
the test asserts what was sent and how long renderkit waited, not only the outcome.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from renderkit.errors import ProviderError
from renderkit.execute.events import Event, Outcome, ProviderUnusable
from renderkit.execute.jobs import Job, ProviderRuntime
from renderkit.execute.pacing import Clock, RateLimiter
from renderkit.execute.scheduler import Executor
from renderkit.providers.base import CreateRequest, DownloadSink, TaskState
from renderkit.request import Request
from renderkit.simulator.inputs import RenderRequest
from renderkit.simulator.inputs import Shot as SimShot
from renderkit.simulator.render import render_video
from renderkit.store.cache import Cache
from renderkit.store.journal import Journal
from renderkit.store.layout import CacheLayout

SIZE = "160x96"
Answer = TaskState | ProviderError


@functools.cache
def video() -> bytes:
    return render_video(RenderRequest("sora-2", 160, 96, (SimShot("p", 1),)), "stamp", 4)


class VirtualClock(Clock):
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.slept.append(max(0.0, seconds))
        self.time += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


class FakeProvider:
    """A provider whose answers come from queues; records every call."""

    kind = "openai"

    def __init__(
        self, creates: list[Answer], polls: list[Answer] | None = None, listed: list[TaskState] | None = None
    ) -> None:
        self.creates = deque(creates)
        self.polls = deque(polls or [])
        self.listed = listed or []
        self.calls: list[str] = []
        self.sent: list[CreateRequest] = []

    async def create(self, request: CreateRequest) -> TaskState:
        self.calls.append("create")
        self.sent.append(request)
        return _answer(self.creates.popleft())

    async def poll(self, task_id: str) -> TaskState:
        self.calls.append(f"poll {task_id}")
        if not self.polls:
            return TaskState(task_id, "completed")
        return _answer(self.polls.popleft())

    async def download(self, state: TaskState, sink: DownloadSink) -> None:
        self.calls.append(f"download {state.task_id}")
        sink.write(video())

    async def list_tasks(self, since: int) -> list[TaskState]:
        self.calls.append("list")
        return self.listed


def _answer(answer: Answer) -> TaskState:
    if isinstance(answer, ProviderError):
        raise answer
    return answer


def queued(task_id: str) -> TaskState:
    return TaskState(task_id, "queued")


def listed(task_id: str, prompt: str = "a boat") -> TaskState:
    return TaskState(task_id, "completed", extra={"prompt": prompt, "model": "sora-2", "size": SIZE, "seconds": 1})


def job(scene: str = "a", prompt: str = "a boat") -> Job:
    request = Request("openai", "sora-2", prompt, SIZE, 1)
    return Job(scene, request.key, request, "p")


class Harness:
    """One executor over a fake provider, a real cache and journal, and a virtual clock."""

    def __init__(self, tmp: Path, provider: FakeProvider, rpm: float | None = None) -> None:
        self.clock = VirtualClock()
        self.provider = provider
        self.cache = Cache(CacheLayout(tmp / "cache"))
        self.journal = Journal(self.cache.layout.journal)
        self.events: list[Event] = []
        self.runtime = ProviderRuntime(
            provider=provider,
            kind="openai",
            slots=anyio.CapacityLimiter(4),
            creates=RateLimiter(rpm / 60 if rpm else None, clock=self.clock, pause=lambda attempt: 2.0),
            polls=RateLimiter(None, clock=self.clock),
            poll_interval=1.0,
        )

    def run(
        self, *jobs: Job, known: Mapping[str, str] | None = None, pause: float = 3.0, force: Sequence[str] = ()
    ) -> dict[str, Outcome]:
        """Run ``jobs``; ``known`` maps cached upstream scenes to their task ids; ``pause`` is every backoff."""
        executor = Executor(
            cache=self.cache,
            journal=self.journal,
            providers={"p": self.runtime},
            on_event=self.events.append,
            force=force,
            clock=self.clock,
            pause=lambda attempt: pause,
        )
        self.executor = executor

        async def main() -> dict[str, Outcome]:
            with anyio.fail_after(30):
                return await executor.run(list(jobs), known or {})

        try:
            return anyio.run(main)
        finally:
            self.cache.close()
            self.journal.close()

    def said(self, phase: str) -> list[str]:
        return [e.detail for e in self.events if e.phase == phase]


@pytest.fixture
def harness(tmp_path: Path) -> Callable[..., Harness]:
    return functools.partial(Harness, tmp_path)


def test_a_429_waits_for_retry_after_then_creates_once_more(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([ProviderError("slow down", status=429, retryable=True, retry_after=7.0), queued("t1")]))
    outcomes = h.run(job())
    assert outcomes["a"].record is not None
    assert outcomes["a"].record.task_id == "t1"
    assert h.provider.calls[:2] == ["create", "create"]
    assert 7.0 in h.clock.slept, "the second create waited for Retry-After"
    assert h.runtime.creates.rate is None
    assert h.cache.usable(job().key) is not None


def test_a_429_without_retry_after_backs_off_and_slows_the_bucket(harness: Callable[..., Harness]) -> None:
    refusal = ProviderError("slow down", status=429, retryable=True)
    h = harness(FakeProvider([refusal, refusal, queued("t1")]), rpm=60.0)
    assert h.run(job())["a"].record is not None
    assert h.provider.calls.count("create") == 3
    assert h.clock.slept.count(2.0) == 2, "each refusal paused the bucket for the backoff"
    assert h.runtime.creates.rate is not None
    assert h.runtime.creates.rate < 1.0, "refusals slowed the create rate below the configured 1/s"


def test_a_lost_create_is_recovered_from_the_list_route_without_a_second_create(
    harness: Callable[..., Harness],
) -> None:
    lost = ProviderError("connection lost after sending", maybe_sent=True)
    h = harness(FakeProvider([lost], listed=[listed("t9", prompt="another prompt"), listed("t1")]))
    outcomes = h.run(job())
    assert outcomes["a"].record is not None
    assert outcomes["a"].record.task_id == "t1"
    assert h.provider.calls.count("create") == 1
    assert any("recovered task t1" in d for d in h.said("created"))


def test_several_matching_tasks_stop_the_scene_instead_of_guessing(harness: Callable[..., Harness]) -> None:
    lost = ProviderError("connection lost after sending", maybe_sent=True)
    h = harness(FakeProvider([lost], listed=[listed("t1"), listed("t2")]))
    outcome = h.run(job())["a"]
    assert outcome.record is None
    assert outcome.error is not None
    assert "several tasks match it (t1, t2)" in outcome.error
    assert "--force a" in outcome.error
    assert h.provider.calls.count("create") == 1


def test_a_task_another_key_owns_in_the_journal_is_never_adopted(
    harness: Callable[..., Harness], tmp_path: Path
) -> None:
    lost = ProviderError("connection lost after sending", maybe_sent=True)
    h = harness(FakeProvider([lost], listed=[listed("t1")]))
    h.journal.intent("another-key", "b", "p")
    h.journal.task("another-key", "t1")
    outcome = h.run(job())["a"]
    assert outcome.record is None
    assert outcome.error is not None
    assert "answer was lost" in outcome.error
    assert h.provider.calls.count("create") == 1


def test_a_journaled_task_is_polled_not_created_again(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([]))
    h.journal.intent(job().key, "a", "p")
    h.journal.task(job().key, "t5")
    assert h.run(job())["a"].record is not None
    assert "create" not in h.provider.calls
    assert h.provider.calls[0] == "poll t5"
    assert [(e.scene, e.detail) for e in h.events if e.phase == "created"] == [("a", "resuming task t5")]


def test_retryable_poll_errors_back_off_and_keep_polling(harness: Callable[..., Harness]) -> None:
    flaky = ProviderError("bad gateway", status=502, retryable=True)
    running = TaskState("t1", "running", progress=50)
    h = harness(FakeProvider([queued("t1")], polls=[flaky, running, flaky]))
    assert h.run(job())["a"].record is not None
    assert h.provider.calls.count("poll t1") == 4
    assert h.clock.slept.count(3.0) == 2, "each poll error waited for the backoff"
    assert len(h.said("retry")) == 2


def test_a_refused_create_is_not_retried(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([ProviderError("bad prompt", status=400), queued("t2")]))
    h.runtime.slots = anyio.CapacityLimiter(1)
    outcomes = h.run(job("a"), job("b", prompt="a gull"))
    assert h.provider.calls.count("create") == 2
    assert (outcomes["a"].error or "").startswith("the provider refused the create: bad prompt")
    assert outcomes["b"].record is not None


def test_a_401_stops_the_whole_build_before_any_other_create(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([ProviderError("bad key", status=401)]))
    h.runtime.slots = anyio.CapacityLimiter(1)
    with pytest.raises(ProviderUnusable, match="bad key"):
        h.run(job("a"), job("b", prompt="a gull"), job("c", prompt="a crab"))
    assert h.provider.calls.count("create") == 1


class SlowDownloads(FakeProvider):
    """Each download takes many scheduler turns; notes the download backlog at each create.

    With ``polled``, each render is found done by its first poll, and every poll's wait moves the harness's shared
    virtual clock on by the poll interval, so finished renders age many seconds while they wait; without, renders
    are done when created and no time passes at all.
    """

    def __init__(self, count: int, polled: bool) -> None:
        super().__init__([TaskState(f"t{i}", "queued" if polled else "completed") for i in range(count)])
        self.count = count
        self.backlog: Callable[[], int] = lambda: 0
        self.backlog_at_create: list[int] = []
        self.backlog_at_download: list[int] = []

    async def create(self, request: CreateRequest) -> TaskState:
        self.backlog_at_create.append(self.backlog())
        return await super().create(request)

    async def download(self, state: TaskState, sink: DownloadSink) -> None:
        self.backlog_at_download.append(self.backlog())
        for _ in range(400):
            await anyio.lowlevel.checkpoint()
        # Then it lasts until every create is made, or the 20,000 turns that a create held at the gate would take.
        for _ in range(20_000):
            if self.calls.count("create") == self.count:
                break
            await anyio.lowlevel.checkpoint()
        await super().download(state, sink)
        self.calls.append("downloaded")


def slow_downloads(harness: Callable[..., Harness], polled: bool) -> tuple[Harness, SlowDownloads]:
    provider = SlowDownloads(20, polled)
    h = harness(provider)
    provider.backlog = lambda: h.executor.backlog
    outcomes = h.run(*(job(f"s{i}", f"boat {i}") for i in range(20)))
    assert all(o.record is not None for o in outcomes.values())
    assert len(provider.backlog_at_create) == 20
    assert h.executor.peak_backlog >= h.executor.max_backlog, "the downloads did lag"
    # A render holding a download slot no longer waits for one: the last download leaves nothing waiting.
    assert provider.backlog_at_download[-1] == 0
    return h, provider


def test_no_create_starts_while_finished_renders_wait_long_for_downloads(harness: Callable[..., Harness]) -> None:
    h, provider = slow_downloads(harness, polled=True)
    # Each of the 4 slot holders passes the gate below the limit; renders in flight may finish before its create.
    limit = h.executor.max_backlog + h.runtime.slots.total_tokens
    assert max(provider.backlog_at_create) < limit, "creates kept starting while downloads lagged"
    last_create = max(i for i, call in enumerate(provider.calls) if call == "create")
    assert last_create > provider.calls.index("downloaded"), "a create waited for a download to finish"


def test_a_backlog_that_drains_within_the_grace_does_not_hold_back_creates(harness: Callable[..., Harness]) -> None:
    h, provider = slow_downloads(harness, polled=False)
    assert h.clock.time == 1000.0, "no time passed"
    last_create = max(i for i, call in enumerate(provider.calls) if call == "create")
    assert last_create < provider.calls.index("downloaded"), "a create waited for a backlog younger than the grace"


class GarbageProvider(FakeProvider):
    """Completes every task with bytes that are no video."""

    async def download(self, state: TaskState, sink: DownloadSink) -> None:
        self.calls.append(f"download {state.task_id}")
        sink.write(b"not a video" * 1000)


def test_a_render_is_written_to_its_copy_as_it_downloads(harness: Callable[..., Harness], tmp_path: Path) -> None:
    h = harness(FakeProvider([queued("t1")]))
    copy = tmp_path / "renders" / ".a.mp4.tmp"
    record = h.run(replace(job(), copy_to=copy))["a"].record
    assert record is not None
    assert copy.read_bytes() == video()
    assert h.cache.blob_path(record.sha256).read_bytes() == video()


def test_the_copy_of_a_download_that_is_no_video_is_deleted(harness: Callable[..., Harness], tmp_path: Path) -> None:
    h = harness(GarbageProvider([queued("t1")]))
    copy = tmp_path / "renders" / ".a.mp4.tmp"
    outcome = h.run(replace(job(), copy_to=copy))["a"]
    assert outcome.record is None
    assert "invalid video" in str(outcome.error)
    assert h.provider.calls.count("download t1") > 1
    assert not copy.exists()
