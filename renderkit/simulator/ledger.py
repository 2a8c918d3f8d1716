"""What the simulator was asked and what it charged, so a test can prove nothing was paid twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

Snapshot = dict[str, Any]


class Ledger:
    """Thread-safe counters; ``wait_for`` blocks until a predicate over the snapshot holds."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._creates = 0
        self._paid_seconds = 0
        self._requests: Counter[str] = Counter()
        self._responses: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def request(self, route: str) -> None:
        """Count one request to ``route`` (``METHOD /template``)."""
        with self._changed:
            self._requests[route] += 1
            self._changed.notify_all()

    def response(self, status: int) -> None:
        """Count one response sent with ``status``."""
        with self._changed:
            self._responses[str(status)] += 1
            self._changed.notify_all()

    def create(self, seconds: int) -> None:
        """Count one accepted (and therefore charged) create of ``seconds`` of video."""
        with self._changed:
            self._creates += 1
            self._paid_seconds += seconds
            self._changed.notify_all()

    def fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._changed:
            self._faults[kind] += 1
            self._changed.notify_all()

    def snapshot(self) -> Snapshot:
        """The ledger as the ``GET /_sim/ledger`` JSON document."""
        with self._changed:
            return self._snapshot()

    def _snapshot(self) -> Snapshot:
        return {
            "creates": self._creates,
            "paid_seconds": self._paid_seconds,
            "requests": dict(sorted(self._requests.items())),
            "responses": dict(sorted(self._responses.items())),
            "faults": dict(sorted(self._faults.items())),
        }

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float) -> Snapshot:
        """Block until ``predicate(snapshot)`` is true; raise TimeoutError after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self._snapshot()), timeout):
                raise TimeoutError(f"ledger condition not met within {timeout} s: {self._snapshot()}")
            return self._snapshot()
