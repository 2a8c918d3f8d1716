"""Pacing for provider calls: the clock, a sliding-window rate limiter that adapts down on 429, and backoff.

Every wait in the executor goes through a ``Clock``, so tests can run retries and polls on virtual time.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable

import anyio

# The window is counted 2% wider than the provider's. Between the grant and the server's clock lie a journal
# fsync, a connection and event-loop lateness (milliseconds, but uneven), so counting exactly at the limit lets
# a provider that counts a sliding window refuse a call now and then, and each refusal slows everyone by 20%.
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


class RateLimiter:
    """At most ``rate`` calls per second over any sliding ``window`` of seconds, as providers count an rpm.

    The first calls go at once, up to the window's allowance (a burst as wide as the provider permits), and
    later ones wait for the oldest call in the window to age out. A 429 pauses every caller until the server's
    wait (or a backoff) ends and narrows the allowance; successes widen it back.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        window: float = 60.0,
        floor: float = 0.1,
        clock: Clock | None = None,
        pause: Backoff = backoff,
    ) -> None:
        self.configured = rate
        self.rate = rate
        self.window = window
        self.floor = floor
        self.clock = clock or Clock()
        self._pause = pause
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = anyio.Lock()

    @property
    def allowance(self) -> int:
        """Calls allowed in one window at the current rate."""
        return max(1, int(self.rate * self.window)) if self.rate else 0

    async def acquire(self) -> None:
        """Wait for this caller's turn (callers are served in order)."""
        async with self._lock:
            span = self.window * HEADROOM
            while True:
                now = self.clock.now()
                while self._sent and self._sent[0] <= now - span:
                    self._sent.popleft()
                wait = self._paused_until - now
                if self.rate and len(self._sent) >= self.allowance:
                    wait = max(wait, self._sent[0] + span - now)
                if wait <= 0:
                    self._sent.append(now)
                    return
                await self.clock.sleep(wait)

    def throttled(self, retry_after: float | None, attempt: int) -> float:
        """Record a 429: pause all callers until the server's wait (or a backoff) ends; return the pause."""
        pause = retry_after if retry_after is not None else self._pause(attempt)
        self._paused_until = max(self._paused_until, self.clock.now() + pause)
        if self.rate is not None and self.configured is not None:
            self.rate = max(self.configured * self.floor, self.rate * 0.8)
        return pause

    def succeeded(self) -> None:
        """Creep back towards the configured rate after a success."""
        if self.rate is not None and self.configured is not None and self.rate < self.configured:
            self.rate = min(self.configured, self.rate + self.configured * 0.05)
