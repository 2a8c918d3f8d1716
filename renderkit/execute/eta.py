"""When a render will finish, so each poll lands just after it: from the task's progress and its kind's history.

Times are seconds from when renderkit got the create's answer. The provider started the task somewhere inside
the create's round trip and reads it somewhere inside each poll's, so an answer bounds the render's length:
a pending task has rendered longer than the poll's send time, a done one at most its answer time plus the
create's round trip. Progress ``p`` (1 to 99) brackets the length between ``100 / (p + 1)`` and ``100 / p`` times
the time rendered so far, as providers report a progress that rises about linearly with time, rounded down.
"""

from __future__ import annotations

import math
from collections import deque

from renderkit.providers.base import TaskState

WINDOW = 256  # finished renders remembered per kind: enough for a spread, recent enough to follow a drift
MARGIN = 0.02  # of the poll hint: how far past an estimated finish a poll aims, so a miss moves the next aim
EARLY = 0.05  # the quantile of lengths at which a first poll goes when they spread wider than the hint
EXPLORE = 10  # one first poll in this many tries the middle of what is known of a fixed length, to narrow it


class Bracket:
    """What the polls of one task showed of its length and of when a poll would first find it done."""

    def __init__(self, create_trip: float) -> None:
        self.create_trip = create_trip
        self.lo = 0.0  # the render takes longer than this
        self.done_by = math.inf  # a poll sent this long after the create's answer finds it done
        self.length_by = math.inf  # the render is at most this long

    @property
    def length(self) -> float:
        """The best guess at the render's length: the middle of its bracket, or its bound if nothing is below."""
        return (self.lo + self.length_by) / 2 if self.lo else self.length_by

    def saw(self, sent: float, answered: float, state: TaskState) -> None:
        """Narrow the bracket with the answer to a poll sent and answered at these times."""
        trip = self.create_trip
        if state.status not in ("queued", "running"):
            self.done_by = min(self.done_by, sent)
            self.length_by = min(self.length_by, answered + trip)
            return
        self.lo = max(self.lo, sent)
        progress = state.progress
        if progress is not None and 0 < progress < 100:
            self.lo = max(self.lo, sent * 100 / (progress + 1))
            # The latest reading is the most precise, so it replaces the last one. The provider's clock may have
            # started as late as the create's answer, which shortens the wait by as much.
            self.length_by = (answered + trip) * 100 / progress
            self.done_by = self.length_by - trip


class Finishes:
    """The brackets of the renders of one kind that finished in this build, the most recent ``WINDOW``."""

    def __init__(self) -> None:
        self.seen: deque[Bracket] = deque(maxlen=WINDOW)
        self.asked = 0  # first polls timed from a fixed length, to pick which ones explore

    def first(self, hint: float) -> float | None:
        """When a new task's first poll goes, after its create's answer; None before any render of the kind."""
        if not self.seen:
            return None
        longer_than = max(b.lo for b in self.seen)
        at_most = min(b.length_by for b in self.seen)
        if longer_than - at_most <= hint:
            # Renders of this kind take the same time, give or take a hint: a poll once every render is over
            # finds nearly every task done, and one that finds a task pending raises the aim for the next. The
            # bound on the length stays as loose as the round trips that gave it unless a poll goes sooner, so
            # now and then one tries the middle of what is known: done, it lowers the bound; pending, it raises
            # the aim (a hint late, for this one task only).
            self.asked += 1
            if self.asked % EXPLORE == 0:
                at_most = (longer_than + at_most) / 2
            return max(longer_than + hint * MARGIN, at_most)
        # They spread wider: poll before most finish, and let the task's progress aim the poll that finds it done.
        lengths = sorted(b.length for b in self.seen)
        return lengths[int(len(lengths) * EARLY)]
