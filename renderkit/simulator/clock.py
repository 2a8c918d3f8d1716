"""A clock that tests can move forward, so that nothing has to sleep to reach a state."""

from __future__ import annotations

import threading
import time


class Clock:
    """Monotonic and wall time plus an offset that only ``advance`` changes."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds on the simulator's monotonic clock."""
        with self._lock:
            return time.monotonic() + self._offset

    def wall(self) -> float:
        """Unix time as the simulator sees it."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
