"""When polls go: just past the finish a task's progress shows, or its kind's history, never sooner than the hint.

On the executor's harness (tests/execute/test_scheduler.py): a fake provider answers from a queue and a virtual
clock never sleeps, so each test asserts the exact waits between polls. The estimator's arithmetic is tested on
its own below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from renderkit.execute.eta import EXPLORE, Bracket, Finishes
from renderkit.providers.base import TaskState
from tests.execute.test_scheduler import FakeProvider, Harness, job, queued


@pytest.fixture
def harness(tmp_path: Path) -> Callable[..., Harness]:
    return functools.partial(Harness, tmp_path)


def running(task_id: str, progress: int, hint: float) -> TaskState:
    return TaskState(task_id, "running", progress=progress, poll_after=hint)


def done(task_id: str) -> TaskState:
    return TaskState(task_id, "completed")


def test_progress_aims_the_next_poll_just_past_the_finish_it_shows(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([queued("t1")], polls=[running("t1", 50, hint=0.5)]))
    assert h.run(job())["a"].record is not None
    # Half done after 1 s: done by 2 s, so the next poll goes then (plus 2% of the hint), not a hint later.
    assert h.clock.slept == pytest.approx([1.0, 1.01])
    assert h.provider.calls.count("poll t1") == 2


def test_progress_never_brings_a_poll_sooner_than_the_hint(harness: Callable[..., Harness]) -> None:
    h = harness(FakeProvider([queued("t1")], polls=[running("t1", 90, hint=0.5)]))
    assert h.run(job())["a"].record is not None
    # 90% after 1 s points at 1.11 s; the provider asked for 0.5 s between polls.
    assert h.clock.slept == pytest.approx([1.0, 0.5])


def test_progress_read_early_is_read_again_a_hint_before_the_earliest_finish(
    harness: Callable[..., Harness],
) -> None:
    h = harness(FakeProvider([queued("t1")], polls=[running("t1", 10, hint=1.0), running("t1", 80, hint=1.0)]))
    assert h.run(job())["a"].record is not None
    # 10% after 1 s: done between 100/11 s and 10 s, too loose to aim at, so it is read again a hint before
    # 100/11 s; 80% then bounds the finish to 100/80 of that, where the last poll goes (plus 2% of the hint).
    early = 100 / 11 - 1
    assert h.clock.slept == pytest.approx([1.0, early - 1.0, early * 100 / 80 + 0.02 - early])
    assert h.provider.calls.count("poll t1") == 3


def test_a_render_found_pending_where_its_kind_should_be_done_raises_the_next_aim(
    harness: Callable[..., Harness],
) -> None:
    polls = [running("t1", 50, hint=0.5), done("t1"), running("t2", 99, hint=0.5), done("t2"), done("t3")]
    h = harness(FakeProvider([queued("t1"), queued("t2"), queued("t3")], polls=list(polls)))
    h.runtime.slots = anyio.CapacityLimiter(1)
    outcomes = h.run(job("a"), job("b", prompt="a gull"), job("c", prompt="a crab"))
    assert all(o.record is not None for o in outcomes.values())
    # a shows its kind takes 2 s, so b's first poll goes 2 s after its create; b is still rendering then (99%),
    # and is polled again a hint later; c's first poll goes past 2 s by 2% of the create's 1 s interval.
    assert h.clock.slept == pytest.approx([1.0, 1.01, 2.0, 0.5, 2.02])
    assert h.provider.calls.count("poll t3") == 1


def test_a_pending_answer_bounds_the_length_from_below_and_its_progress_from_above() -> None:
    bracket = Bracket(create_trip=0.1)
    bracket.saw(1.0, 1.1, running("t1", 50, hint=0.5))
    assert bracket.lo == pytest.approx(100 / 51), "at least 50% of the length has passed in 1 s"
    # The provider read it by 1.1 s, and its clock may have started 0.1 s before the create's answer.
    assert bracket.length_by == pytest.approx(2.4)
    assert bracket.done_by == pytest.approx(2.3)
    bracket.saw(2.2, 2.3, done("t1"))
    assert (bracket.done_by, bracket.length_by) == pytest.approx((2.2, 2.4))


def test_a_newer_progress_reading_replaces_an_older_one() -> None:
    bracket = Bracket(create_trip=0.0)
    bracket.saw(1.0, 1.0, running("t1", 10, hint=0.5))
    bracket.saw(8.0, 8.0, running("t1", 79, hint=0.5))
    assert bracket.length_by == pytest.approx(800 / 79)
    assert bracket.lo == pytest.approx(10.0), "the older reading's lower bound still holds"


def finished(lo: float, length: float) -> Bracket:
    bracket = Bracket(create_trip=0.0)
    bracket.saw(lo, lo, TaskState("t", "running"))
    bracket.saw(length, length, done("t"))
    return bracket


def test_lengths_spread_wider_than_the_hint_send_the_first_poll_before_most_finish() -> None:
    finishes = Finishes()
    finishes.seen.extend(finished(n - 0.5, float(n)) for n in range(1, 21))
    # The 5% quantile of the renders' lengths, each the middle of what its polls showed; not the typical length.
    assert finishes.first(hint=0.5) == 1.75
    finishes.seen.append(finished(0.0, 1.2))  # found done at its first poll: only its bound is known
    assert finishes.first(hint=0.5) == 1.2


def test_a_fixed_length_is_aimed_at_and_now_and_then_narrowed_from_below() -> None:
    finishes = Finishes()
    assert finishes.first(hint=1.0) is None, "nothing is known before a render of the kind finishes"
    finishes.seen.extend([finished(1.9, 2.1), finished(1.8, 2.2)])
    aims = [finishes.first(hint=1.0) for _ in range(EXPLORE)]
    # Every render took more than 1.9 s and one at most 2.1 s: aim there, and once try halfway to 1.9 s.
    assert aims == pytest.approx([2.1] * (EXPLORE - 1) + [2.0])
