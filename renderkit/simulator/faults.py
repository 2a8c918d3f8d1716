"""Fault specs: parsing, and seeded, reproducible decisions about which request a fault hits.

Syntax: ``WHERE:KIND[=PARAM][:WHEN]``

- WHERE: a group (``create``, ``poll``, ``content``, ``list``, ``delete``, ``remix``, ``characters``,
  ``models``), ``*``
  for every route, or one route template such as ``POST /v1/videos`` or ``GET /v1/videos/{video_id}/content``.
- KIND: an HTTP status ``400``-``599``, optionally ``=S`` (answered at once with a JSON error and, when S > 0,
  ``Retry-After: S`` plus ``retry-after-ms``; S defaults to 1 for 429 and 0 for the rest);
  ``drop`` (close the connection before the request is handled: nothing recorded); ``drop-after`` (handle the
  request, e.g. record and charge a create, then close the connection without answering); ``truncate[=F]``
  (announce the full Content-Length, send fraction F (default 0.5) of the body, close); ``slow[=S]`` (wait S
  seconds, default 1, then answer normally); ``fail[=CODE]`` (create routes: the job ends ``failed`` with
  CODE, default ``content_policy_violation``); ``expire`` (create routes: the result is expired as soon as it
  completes; content route: this download answers 410 expired). Lies about size and speed (see ``lies``):
  ``huge[=MB]``, ``bomb[=MB]`` (gzip), ``endless``, ``trickle[=S]`` (one byte every S seconds), ``pages``
  (a list with always one more page).
- WHEN: absent = every matching request; a probability such as ``0.25`` (seeded by ``--seed``); or ``@LIST``
  of 1-based positions among the matching requests, e.g. ``@1``, ``@1,3``, ``@2-4``, ``@5-``.

Examples: ``create:503:@1``, ``content:truncate=0.3:0.5``, ``POST /v1/videos:drop-after:@2``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from renderkit.simulator.routes import ALL, GROUPS

KINDS = ("drop", "drop-after", "truncate", "slow", "fail", "expire", "huge", "bomb", "endless", "trickle", "pages")

FAIL_MESSAGES = {
    "content_policy_violation": "The request was blocked by the content policy; change the prompt.",
    "moderation_blocked": "The generated video was blocked by moderation.",
    "internal_error": "The render failed inside the model; try again.",
    "insufficient_capacity": "The model had no capacity for this job; try again later.",
}


@dataclass(frozen=True)
class Fault:
    """One parsed fault spec."""

    spec: str
    routes: frozenset[str]
    kind: str
    status: int | None = None
    param: str | None = None
    rate: float | None = None
    positions: tuple[tuple[int, int | None], ...] = ()

    @property
    def fraction(self) -> float:
        """Share of the body a ``truncate`` fault sends."""
        return float(self.param) if self.param is not None else 0.5

    @property
    def seconds(self) -> float:
        """How long a ``slow`` fault waits."""
        return float(self.param) if self.param is not None else 1.0

    @property
    def retry_after(self) -> float:
        """The ``Retry-After`` a status fault announces (0: none)."""
        if self.param is not None:
            return float(self.param)
        return 1.0 if self.status == 429 else 0.0

    @property
    def code(self) -> str:
        """The error code of a ``fail`` fault."""
        return self.param or "content_policy_violation"

    def fires(self, nth: int, rng: random.Random) -> bool:
        """Whether the ``nth`` matching request (1-based) is hit."""
        if self.positions:
            return any(lo <= nth and (hi is None or nth <= hi) for lo, hi in self.positions)
        if self.rate is not None:
            return rng.random() < self.rate
        return True


def parse_fault(spec: str) -> Fault:
    """Parse ``WHERE:KIND[=PARAM][:WHEN]``; raise ValueError naming the mistake."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise ValueError(f"fault {spec!r}: expected WHERE:KIND[=PARAM][:WHEN], e.g. create:503:@1")
    where, what = parts[0].strip(), parts[1].strip()
    routes = _routes(spec, where)
    kind, _, param = what.partition("=")
    status = None
    if kind.isdigit():
        status = int(kind)
        if not 400 <= status <= 599:
            raise ValueError(f"fault {spec!r}: a status fault takes a code 400-599")
        kind = "status"
    elif kind not in KINDS:
        raise ValueError(f"fault {spec!r}: unknown kind {kind!r}; use a status code or one of {', '.join(KINDS)}")
    _check_param(spec, kind, param)
    rate, positions = _when(spec, parts[2].strip()) if len(parts) == 3 else (None, ())
    return Fault(spec, routes, kind, status, param or None, rate, positions)


def _routes(spec: str, where: str) -> frozenset[str]:
    if where == "*":
        return ALL
    if where in GROUPS:
        return GROUPS[where]
    if where in ALL:
        return frozenset({where})
    raise ValueError(
        f"fault {spec!r}: unknown route {where!r}; use *, a group ({', '.join(GROUPS)}) or a route "
        "template such as 'POST /v1/videos'"
    )


def _check_param(spec: str, kind: str, param: str) -> None:
    if not param:
        return
    if kind in ("drop", "drop-after", "expire", "endless", "pages"):
        raise ValueError(f"fault {spec!r}: {kind} takes no parameter")
    if kind == "fail":
        if not param.replace("_", "").isalnum():
            raise ValueError(f"fault {spec!r}: the fail code must be a word such as content_policy_violation")
        return
    try:
        value = float(param)
    except ValueError:
        raise ValueError(f"fault {spec!r}: {kind} takes a number, got {param!r}") from None
    if kind == "truncate" and not 0 <= value < 1:
        raise ValueError(f"fault {spec!r}: truncate takes a fraction in [0, 1)")
    if kind in ("slow", "status") and not 0 <= value <= 600:
        raise ValueError(f"fault {spec!r}: {kind} takes seconds in [0, 600]")


def _when(spec: str, when: str) -> tuple[float | None, tuple[tuple[int, int | None], ...]]:
    if when.startswith("@"):
        positions: list[tuple[int, int | None]] = []
        for item in when[1:].split(","):
            lo, dash, hi = item.partition("-")
            try:
                start = int(lo)
                end = (int(hi) if hi else None) if dash else start
            except ValueError:
                raise ValueError(f"fault {spec!r}: positions look like @1,3 or @2-4 or @5-") from None
            if start < 1 or (end is not None and end < start):
                raise ValueError(f"fault {spec!r}: positions are 1-based and ranges ascend")
            positions.append((start, end))
        return None, tuple(positions)
    try:
        rate = float(when)
    except ValueError:
        raise ValueError(f"fault {spec!r}: WHEN is a probability (0.25) or positions (@1,3)") from None
    if not 0 < rate <= 1:
        raise ValueError(f"fault {spec!r}: the probability must be in (0, 1]")
    return rate, ()


class FaultSet:
    """The active faults, each with its own match counter and seeded random stream."""

    def __init__(self, specs: tuple[str, ...], seed: int | None) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._active: list[tuple[Fault, list[int], random.Random]] = []
        for spec in specs:
            self.add(spec)

    def add(self, spec: str) -> Fault:
        """Parse and activate one fault."""
        fault = parse_fault(spec)
        with self._lock:
            # Each fault gets its own stream so adding one never shifts another's decisions.
            rng = random.Random(f"{self._seed or 0}:{len(self._active)}:{spec}")
            self._active.append((fault, [0], rng))
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._active.clear()

    def specs(self) -> list[str]:
        """The active specs, in the order they were added."""
        with self._lock:
            return [fault.spec for fault, _, _ in self._active]

    def pick(self, route: str) -> list[Fault]:
        """Count this request against every fault on ``route`` and return those that fire."""
        hits = []
        with self._lock:
            for fault, counter, rng in self._active:
                if route in fault.routes:
                    counter[0] += 1
                    if fault.fires(counter[0], rng):
                        hits.append(fault)
        return hits
