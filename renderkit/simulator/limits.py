"""Per-key create limits: creates per window (``rpm``) and unfinished tasks (``max_in_flight``)."""

from __future__ import annotations

import threading
from collections import defaultdict, deque


class RateWindow:
    """A sliding-window log of accepted creates per key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: defaultdict[str, deque[float]] = defaultdict(deque)

    def wait(self, key: str, now: float, limit: int, window: float) -> float:
        """Seconds until ``key`` may create again; 0 if it may now."""
        with self._lock:
            log = self._log[key]
            while log and log[0] <= now - window:
                log.popleft()
            return 0.0 if len(log) < limit else log[0] + window - now

    def record(self, key: str, now: float) -> None:
        """Count one accepted create."""
        with self._lock:
            self._log[key].append(now)
