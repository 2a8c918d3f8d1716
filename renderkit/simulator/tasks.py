"""Tasks and their lifecycle: queued, then in_progress with rising progress, then completed or failed.

A task's state is a pure function of the clock, so polling never advances anything and tests can jump the
clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, replace

from renderkit.simulator.inputs import RenderRequest

QUEUED_SHARE = 0.25  # the first quarter of the latency is spent queued


@dataclass(frozen=True)
class Task:
    """One accepted create."""

    id: str
    owner: str
    seq: int
    request: RenderRequest
    action: str
    created: float
    created_wall: float
    latency: float
    ttl: float
    stamp: str
    fps: int
    fail: str | None = None
    expire_now: bool = False
    remixed_from: str | None = None
    private: bool = False
    url_ttl: float | None = None
    echo_key: bool = False  # a careless gateway: its failure messages quote the key that made the task


@dataclass(frozen=True)
class State:
    """What a task looks like at one instant."""

    status: str  # not_start, queued, in_progress, completed, failed
    progress: int
    started_at: int | None
    completed_at: int | None
    expires_at: int | None
    expired: bool

    @property
    def pending(self) -> bool:
        """Not finished yet."""
        return self.status in ("not_start", "queued", "in_progress")


def state_of(task: Task, now: float, lag: float) -> State:
    """The task's state at monotonic time ``now``; ``lag`` keeps a young task at not_start."""
    age = now - task.created
    wall = task.created_wall + age
    queued_for = task.latency * QUEUED_SHARE
    started = int(task.created_wall + queued_for) if age >= queued_for else None
    if age >= task.latency:
        done = task.created_wall + task.latency
        expires = done if task.expire_now else done + task.ttl
        status = "failed" if task.fail else "completed"
        state = State(status, 100, int(task.created_wall + queued_for), int(done), int(expires), wall >= expires)
    elif age < queued_for:
        state = State("queued", 0, None, None, None, False)
    else:
        state = State("in_progress", min(99, max(1, int(100 * age / task.latency))), started, None, None, False)
    if age < lag:
        return replace(state, status="not_start", progress=0)
    return state


class Store:
    """Every task and character, by id, private to the key that created it; ``seed`` fixes the ids."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self._tasks: dict[str, Task] = {}
        self._characters: dict[str, tuple[str, dict[str, object]]] = {}
        self._unfinished: dict[str, list[Task]] = {}
        self._seq = 0

    def new_id(self, prefix: str, length: int) -> str:
        """A fresh id: random, or derived from the seed and a counter when the seed is fixed."""
        with self._lock:
            self._seq += 1
            if self.seed is None:
                return prefix + secrets.token_hex(length // 2)
            return prefix + hashlib.sha256(f"{self.seed}:{self._seq}".encode()).hexdigest()[:length]

    def next_seq(self) -> int:
        """A counter that orders tasks by creation."""
        with self._lock:
            self._seq += 1
            return self._seq

    def add(self, task: Task) -> None:
        """Record a new task."""
        with self._lock:
            self._tasks[task.id] = task
            self._unfinished.setdefault(task.owner, []).append(task)

    def unfinished(self, owner: str, now: float) -> list[Task]:
        """The owner's tasks still rendering at monotonic time ``now``."""
        with self._lock:
            # The clock never goes back, so a finished task is dropped for good: each check stays short.
            alive = [t for t in self._unfinished.get(owner, []) if now < t.created + t.latency]
            self._unfinished[owner] = alive
            return list(alive)

    def get(self, task_id: str, owner: str) -> Task | None:
        """The task, if it exists and belongs to ``owner``."""
        with self._lock:
            task = self._tasks.get(task_id)
        return task if task is not None and task.owner == owner else None

    def delete(self, task_id: str) -> None:
        """Forget a task."""
        with self._lock:
            self._tasks.pop(task_id, None)

    def owned(self, owner: str) -> list[Task]:
        """The owner's tasks, oldest first."""
        with self._lock:
            tasks = [t for t in self._tasks.values() if t.owner == owner]
        return sorted(tasks, key=lambda t: t.seq)

    def add_character(self, char_id: str, owner: str, body: dict[str, object]) -> None:
        """Record a character."""
        with self._lock:
            self._characters[char_id] = (owner, body)

    def character(self, char_id: str, owner: str) -> dict[str, object] | None:
        """The character's JSON body, if it belongs to ``owner``."""
        with self._lock:
            found = self._characters.get(char_id)
        return found[1] if found is not None and found[0] == owner else None
