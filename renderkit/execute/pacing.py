"""Pacing for provider calls: the clock, a token bucket that adapts down on 429, and jittered backoff.

Every wait in the executor goes through a ``Clock``, so tests can run retries and polls on virtual time.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import anyio

# Calls are spaced 2% wider than 1/rate. Between the grant and the server's clock lie a journal fsync, a
# connection and event-loop lateness (milliseconds, but uneven), so spacing exactly at the limit lets a
# provider that counts a sliding window refuse a call now and then, and each refusal slows everyone by 20%.
HEADROOM = 1.02

Backoff = Callable[[int], float]


class Clock:
    """Monotonic time and sleeping, on the event loop's clock."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (at least one checkpoint)."""
        await anyio.sleep(max(0.0, seconds))


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter in [0.75, 1] of the step, capped."""
    step = min(cap, base * 2.0**attempt)
    return step * (1 - 0.25 * random.random())


class TokenBucket:
    """Spaces calls at ``rate`` per second; a 429 pauses everyone and slows the rate, successes restore it."""

    def __init__(
        self, rate: float | None, *, floor: float = 0.1, clock: Clock | None = None, pause: Backoff = backoff
    ) -> None:
        self.configured = rate
        self.rate = rate
        self.floor = floor
        self.clock = clock or Clock()
        self._pause = pause
        self._next = 0.0
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        """Wait for this caller's turn."""
        async with self._lock:
            now = self.clock.now()
            wait = self._next - now
            start = max(now, self._next)
            self._next = start + (HEADROOM / self.rate if self.rate else 0.0)
        if wait > 0:
            await self.clock.sleep(wait)

    def throttled(self, retry_after: float | None, attempt: int) -> float:
        """Record a 429: pause all callers until the server's wait (or a backoff) ends; return the pause."""
        pause = retry_after if retry_after is not None else self._pause(attempt)
        self._next = max(self._next, self.clock.now() + pause)
        if self.rate is not None and self.configured is not None:
            self.rate = max(self.configured * self.floor, self.rate * 0.8)
        return pause

    def succeeded(self) -> None:
        """Creep back towards the configured rate after a success."""
        if self.rate is not None and self.configured is not None and self.rate < self.configured:
            self.rate = min(self.configured, self.rate + self.configured * 0.05)
