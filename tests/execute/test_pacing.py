"""The rate limiter: spacing, what a 429 does to every caller, how the rate recovers, and the backoff.

The limiter runs on a virtual clock, so each wait is asserted exactly; the builds at the end meet the
same code through the simulator's rate limit, counted in its ledger: a client that honours Retry-After and
pauses every create after a 429 is refused once per create that came too early, and never twice.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import anyio
import pytest

from renderkit.execute.pacing import HEADROOM, Clock, RateLimiter, backoff
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, manifest_text, statuses
from tests.execute.test_scheduler import VirtualClock
from tests.fixtures.project import Project


def run(step: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        with anyio.fail_after(10):
            await step()

    anyio.run(main)


def acquire(limiter: RateLimiter, times: int = 1) -> None:
    async def step() -> None:
        for _ in range(times):
            await limiter.acquire()

    run(step)


def limiter(
    rate: float | None, clock: VirtualClock, pause: Callable[[int], float] = lambda attempt: 2.0, window: float = 1.0
) -> RateLimiter:
    return RateLimiter(rate, window=window, clock=clock, pause=pause)


# The window -----------------------------------------------------------------------------------------------------


def test_a_window_allowance_goes_at_once_and_the_next_call_waits_for_the_oldest_to_age_out() -> None:
    clock = VirtualClock()
    b = limiter(2.0, clock)
    assert b.allowance == 2
    acquire(b, 2)
    assert clock.slept == []
    acquire(b)
    assert clock.slept == pytest.approx([1.02]), "the window is counted 2% wider than the provider's"
    acquire(b)
    assert clock.slept == pytest.approx([1.02]), "one of the two calls of the new window is still free"
    acquire(b)
    assert clock.slept == pytest.approx([1.02, 1.02])
    assert HEADROOM == 1.02


def test_a_caller_that_comes_late_waits_only_for_what_is_left_of_the_window() -> None:
    clock = VirtualClock()
    b = limiter(1.0, clock)
    acquire(b)
    clock.time += 0.7
    acquire(b)
    assert clock.slept == pytest.approx([0.32])
    clock.time += 5.0  # idle time is not saved up beyond one window's allowance
    acquire(b, 2)
    assert clock.slept == pytest.approx([0.32, 1.02])


def test_by_default_the_window_is_a_minute_so_an_rpm_goes_out_at_once() -> None:
    clock = VirtualClock()
    b = RateLimiter(1.0, clock=clock)
    assert b.allowance == 60
    acquire(b, 60)
    assert clock.slept == []
    acquire(b)
    assert clock.slept == pytest.approx([61.2])


def test_a_rate_below_one_call_a_window_still_allows_one() -> None:
    clock = VirtualClock()
    b = limiter(0.1, clock)
    assert b.allowance == 1
    acquire(b, 2)
    assert clock.slept == pytest.approx([1.02])


def test_without_a_rate_nobody_waits() -> None:
    clock = VirtualClock()
    b = limiter(None, clock)
    assert b.allowance == 0
    acquire(b, 5)
    assert clock.slept == []


# A 429 ----------------------------------------------------------------------------------------------------------


def test_a_429_pauses_every_caller_for_exactly_the_retry_after() -> None:
    clock = VirtualClock()
    b = limiter(None, clock)
    assert b.throttled(7.0, attempt=0) == 7.0
    clock.time += 3.0
    acquire(b, 2)
    assert clock.slept == pytest.approx([4.0]), "the pause ends 7 s after the 429, for everyone, and only once"


def test_a_429_never_shortens_a_pause_already_in_force() -> None:
    clock = VirtualClock()
    b = limiter(None, clock)
    b.throttled(7.0, attempt=0)
    assert b.throttled(1.0, attempt=0) == 1.0
    acquire(b)
    assert clock.slept == pytest.approx([7.0])


def test_a_429_without_retry_after_backs_off_by_attempt() -> None:
    clock = VirtualClock()
    asked: list[int] = []

    def pause(attempt: int) -> float:
        asked.append(attempt)
        return 0.25 * (attempt + 1)

    b = limiter(None, clock, pause=pause)
    assert b.throttled(None, attempt=3) == 1.0
    assert asked == [3]
    acquire(b)
    assert clock.slept == pytest.approx([1.0])


def test_each_429_slows_the_rate_by_a_fifth_down_to_a_tenth() -> None:
    clock = VirtualClock()
    b = limiter(10.0, clock)
    b.throttled(0.0, attempt=0)
    assert b.rate == pytest.approx(8.0)
    b.throttled(0.0, attempt=1)
    assert b.rate == pytest.approx(6.4)
    for attempt in range(30):
        b.throttled(0.0, attempt=attempt)
    assert b.rate == pytest.approx(1.0)
    assert b.configured == 10.0
    assert b.allowance == 1
    acquire(b, 2)
    assert clock.slept == pytest.approx([1.02]), "the slowed rate narrows the window's allowance"


def test_successes_creep_back_to_the_configured_rate_and_no_further() -> None:
    clock = VirtualClock()
    b = limiter(10.0, clock)
    b.throttled(0.0, attempt=0)
    b.throttled(0.0, attempt=0)
    assert b.rate == pytest.approx(6.4)
    b.succeeded()
    assert b.rate == pytest.approx(6.9)
    for _ in range(6):
        b.succeeded()
    assert b.rate == pytest.approx(9.9)
    b.succeeded()
    assert b.rate == 10.0
    b.succeeded()
    assert b.rate == 10.0


def test_a_limiter_without_a_rate_stays_without_one() -> None:
    b = limiter(None, VirtualClock())
    b.throttled(1.0, attempt=0)
    b.succeeded()
    assert b.rate is None


# Backoff and the clock ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "step"), [(0, 0.5), (1, 1.0), (3, 4.0), (5, 16.0), (6, 30.0), (40, 30.0)])
def test_backoff_doubles_from_half_a_second_up_to_thirty_with_a_quarter_of_jitter(
    monkeypatch: pytest.MonkeyPatch, attempt: int, step: float
) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)
    assert backoff(attempt) == pytest.approx(step)
    monkeypatch.setattr(random, "random", lambda: 1.0)
    assert backoff(attempt) == pytest.approx(0.75 * step)


def test_the_real_clock_sleeps_at_least_what_it_is_asked_and_never_less_than_nothing() -> None:
    async def step() -> None:
        clock = Clock()
        start = clock.now()
        await clock.sleep(-5.0)
        await clock.sleep(0.05)
        assert clock.now() - start >= 0.05

    run(step)


# Against the simulator's rate limit -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


SCENES = [(f"s{i}", f"prompt {i}") for i in range(6)]


def test_each_create_that_comes_too_early_is_refused_once_then_waits_for_retry_after(
    make_simulator: Callable[..., Simulator], project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """One create per 2.5 s window, one render at a time: every create after the first is refused once and sent
    again when the window has room, not before (a client that backs off its own way is refused twice). The window
    is long enough that a render and its download always end inside it, even on a loaded machine (0.5 s was not:
    a clean-clone run of the suite saw a render outlast it)."""
    sim = make_simulator(rpm=1, rate_window=2.5)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES[:3])})
    code, report, err = build(project, capsys, "--jobs", "1")
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    ledger = sim.ledger()
    assert ledger["creates"] == 3
    assert ledger["responses"].get("429") == 2
    assert ledger["requests"]["POST /v1/videos"] == 5


def test_a_429_storm_pauses_every_create_until_the_window_has_room(
    make_simulator: Callable[..., Simulator], project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Six creates at once against two per half second. After each 429 every create waits for the pause the
    server asked for, so each round of retries gets at least one through: at most 4 + 3 + 2 + 1 refusals."""
    sim = make_simulator(rpm=2, rate_window=0.5)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    ledger = sim.ledger()
    refusals = ledger["responses"].get("429", 0)
    assert ledger["creates"] == 6
    assert 1 <= refusals <= 10, ledger
    assert ledger["requests"]["POST /v1/videos"] == 6 + refusals
