"""Sending a create: journal the intent first, retry only what the provider refused, within named bounds.

On the executor's harness (tests/execute/test_scheduler.py): a fake provider answers from a queue and a virtual
clock never sleeps, so each test asserts what was sent, journaled and shown, and how long renderkit waited.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from renderkit.errors import ProviderError
from renderkit.execute.events import ProviderUnusable, StorageFailed
from renderkit.execute.pacing import RateLimiter
from renderkit.execute.task import CONNECT_RETRIES, CREATE_RETRIES, CREATE_RETRY_SECONDS, echo
from renderkit.providers.base import TaskState
from renderkit.store.journal import Journal
from tests.execute.test_scheduler import FakeProvider, Harness, job, listed, queued

BUSY = ProviderError("the queue is full", status=503, retryable=True)
LOST = ProviderError("connection lost after sending", maybe_sent=True)


@pytest.fixture
def harness(tmp_path: Path) -> Callable[..., Harness]:
    return functools.partial(Harness, tmp_path)


def test_the_intent_is_journaled_with_what_a_list_would_show_before_the_create_is_sent(
    harness: Callable[..., Harness],
) -> None:
    h = harness(FakeProvider([LOST]))
    outcome = h.run(job())["a"]
    assert "answer was lost" in (outcome.error or "")
    assert h.provider.calls == ["create", "list"]
    entry = Journal(h.cache.layout.journal).entries[job().key]
    assert (entry.state, entry.scene, entry.provider, entry.echo) == ("intent", "a", "p", echo(job()))


def test_a_create_refused_every_time_gives_up_after_the_named_number_of_attempts(
    harness: Callable[..., Harness],
) -> None:
    h = harness(FakeProvider([BUSY] * CREATE_RETRIES))
    outcome = h.run(job())["a"]
    waited = 3.0 * (CREATE_RETRIES - 1)  # the harness's backoff, after every refusal but the last
    assert (outcome.error or "").startswith(
        f"the provider refused {CREATE_RETRIES} creates in {waited:.0f}s (the limit is {CREATE_RETRIES} attempts "
        "or 900s); last: the queue is full. Nothing was paid"
    )
    assert h.provider.calls == ["create"] * CREATE_RETRIES
    assert h.clock.slept == [3.0] * (CREATE_RETRIES - 1)
    assert [e.scene for e in h.events if e.phase == "creating"] == ["a"] * CREATE_RETRIES
    retries = [(e.scene, e.detail) for e in h.events if e.phase == "retry"]
    assert retries == [("a", "create refused (the queue is full); retrying in 3.0s")] * (CREATE_RETRIES - 1)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_stops_the_build_before_any_other_create_and_journals_the_refusal(
    harness: Callable[..., Harness], status: int
) -> None:
    h = harness(FakeProvider([ProviderError("bad key", status=status)]))
    h.runtime.slots = anyio.CapacityLimiter(1)
    with pytest.raises(ProviderUnusable, match="bad key"):
        h.run(job("a"), job("b", prompt="a gull"), job("c", prompt="a crab"))
    assert h.provider.calls == ["create"]
    refused = [e for e in Journal(h.cache.layout.journal).entries.values() if e.state == "failed"]
    assert [(e.scene, e.error) for e in refused] == [("a", "refused: bad key")]


def test_a_lost_create_found_in_the_list_counts_as_paid_by_this_build(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([LOST], listed=[listed("t1")]))
    outcome = h.run(job())["a"]
    assert outcome.record is not None
    assert outcome.record.task_id == "t1"
    assert outcome.paid, "the create that was lost was this build's, and the provider charged for it"


def test_a_lost_create_found_nowhere_stops_the_scene_and_says_what_was_lost(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([LOST], listed=[]))
    outcome = h.run(job())["a"]
    assert (outcome.error or "").startswith(
        "the create may have reached the provider but its answer was lost (connection lost after sending); "
        "renderkit will not send it again blindly"
    )


def test_a_create_refused_for_its_content_is_journaled_as_failed_and_not_retried(
    harness: Callable[..., Harness],
) -> None:
    h = harness(FakeProvider([ProviderError("bad prompt", status=400)]))
    outcome = h.run(job())["a"]
    assert outcome.error == "the provider refused the create: bad prompt"
    assert h.provider.calls == ["create"]
    entry = Journal(h.cache.layout.journal).entries[job().key]
    assert (entry.state, entry.error) == ("failed", "refused: bad prompt"), "a rerun creates afresh, not reconciles"


def test_an_unreachable_provider_is_tried_three_times_then_stops_the_build(harness: Callable[..., Harness]) -> None:
    down = ProviderError("cannot connect to 127.0.0.1:9", code="connect_failed", retryable=True)
    h = harness(FakeProvider([down] * CONNECT_RETRIES))
    with pytest.raises(
        ProviderUnusable, match=rf"\({CONNECT_RETRIES} attempts\); nothing was sent, so nothing was paid"
    ):
        h.run(job())
    assert h.provider.calls == ["create"] * CONNECT_RETRIES


def test_refusals_stop_once_the_time_spent_waiting_reaches_the_bound(harness: Callable[..., Harness]) -> None:
    pause = CREATE_RETRY_SECONDS / 3
    h = harness(FakeProvider([BUSY] * 5))
    outcome = h.run(job(), pause=pause)["a"]
    assert (outcome.error or "").startswith(f"the provider refused 4 creates in {CREATE_RETRY_SECONDS:.0f}s")
    assert h.provider.calls == ["create"] * 4


def test_a_429_without_retry_after_pauses_the_bucket_by_the_attempt_count(harness: Callable[..., Harness]) -> None:
    refusal = ProviderError("slow down", status=429, retryable=True)
    h = harness(FakeProvider([refusal, refusal, queued("t1")]))
    attempts: list[int] = []

    def backoff(attempt: int) -> float:
        attempts.append(attempt)
        return 2.0

    h.runtime.creates = RateLimiter(None, clock=h.clock, pause=backoff)
    outcome = h.run(job())["a"]
    assert outcome.record is not None
    assert attempts == [0, 1], "the bucket's backoff grows with each refusal in a row"
    assert h.clock.slept[:2] == [2.0, 2.0], "the next create waited out the bucket's pause, and nothing else"


def test_a_create_that_succeeds_is_paid_and_lifts_a_slowed_bucket_back_towards_its_rate(
    harness: Callable[..., Harness],
) -> None:
    refusal = ProviderError("slow down", status=429, retryable=True)
    h = harness(FakeProvider([refusal, refusal, queued("t1"), queued("t2"), queued("t3")]), rpm=60.0)
    h.runtime.slots = anyio.CapacityLimiter(1)
    outcomes = h.run(job("a"), job("b", prompt="a gull"), job("c", prompt="a crab"))
    assert all(o.paid for o in outcomes.values())
    slowed = 1.0 * 0.8 * 0.8  # two refusals, each a fifth slower
    assert h.runtime.creates.rate is not None
    assert slowed < h.runtime.creates.rate <= 1.0, "three creates accepted since the refusals"


def test_the_first_poll_of_a_render_waits_as_long_as_the_last_one_of_its_kind_took(
    harness: Callable[..., Harness],
) -> None:
    running = TaskState("t1", "running")
    h = harness(FakeProvider([queued("t1"), queued("t2")], polls=[running, running]))
    h.runtime.slots = anyio.CapacityLimiter(1)
    outcomes = h.run(job("a"), job("b", prompt="a gull"))
    assert all(o.record is not None for o in outcomes.values())
    # a: polled after 1, 1.5 and 2.25 s (the interval grows by half); b, of the same kind, after those 4.75 s.
    assert h.clock.slept == [1.0, 1.5, 2.25, 4.75]
    assert h.provider.calls.count("poll t2") == 1


def test_a_task_id_the_disk_will_not_journal_stops_the_build_and_is_shown(
    harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness(FakeProvider([queued("t1")]))

    def full(key: str, task_id: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(h.cache.layout.journal))

    monkeypatch.setattr(h.journal, "task", full)
    with pytest.raises(StorageFailed) as stopped:
        h.run(job())
    assert str(stopped.value).startswith(
        f"cannot write {h.cache.layout.journal}: No space left on device; the build stopped. "
        "task t1 was created and paid for but could not be journaled; note its id."
    )
    assert [(e.scene, e.detail) for e in h.events if e.phase == "created"] == []
    assert h.provider.calls == ["create"]


def test_each_create_answered_is_shown_with_its_scene_and_task_id(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([queued("t1")]))
    assert h.run(job())["a"].record is not None
    assert [(e.scene, e.detail) for e in h.events if e.phase == "created"] == [("a", "t1")]
