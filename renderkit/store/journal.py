"""The write-ahead journal: each create's intent and task id, durable before the next step.

One JSON object per line, appended and fsynced. A crash can leave a torn last line; it is ignored.
Replaying folds the lines into the latest state per render key: no entry means nothing was sent, an intent
without a task id means the create may have been paid (reconcile, never resend), a task id means poll it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

from renderkit.errors import StorageError
from renderkit.store.files import atomic_write

State = Literal["intent", "task", "completed", "failed"]
_STATES = ("intent", "task", "completed", "failed")


@dataclass(frozen=True)
class Entry:
    """The last durable facts about one render key."""

    key: str
    scene: str
    provider: str
    state: State
    intent_at: float
    task_id: str | None = None
    error: str | None = None
    echo: str = ""  # what a provider's list shows of the request (prompt, model, size, seconds), for reconciling


class Journal:
    """An append-only, fsynced log of create intents and task ids."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self._fh: int | None = None
        self._torn = False  # the file ends inside a line (a killed run): the next record must not continue it
        self._load()

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(
                f"cannot read the journal {self.path}: {exc.strerror or exc}; nothing was sent. It records tasks "
                "already paid for, so fix it (do not delete a journal that holds task ids) and build again"
            ) from None
        self._torn = bool(data) and not data.endswith(b"\n")
        for line in data.splitlines():
            try:
                rec = json.loads(line)
                self._apply(rec)
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from a killed run: the step it describes did not complete

    def _apply(self, rec: dict[str, Any]) -> None:
        key = str(rec["key"])
        if rec["state"] == "done":
            self.entries.pop(key, None)
            return
        if rec["state"] not in _STATES:
            raise ValueError(f"unknown journal state {rec['state']!r}")
        state = cast(State, rec["state"])
        old = self.entries.get(key)
        if state == "intent" or old is None:
            self.entries[key] = Entry(
                key=key,
                scene=str(rec.get("scene", "")),
                provider=str(rec.get("provider", "")),
                state=state,
                intent_at=float(rec.get("at", 0.0)),
                task_id=str(rec["task_id"]) if rec.get("task_id") else None,
                echo=str(rec.get("echo", "")),
            )
            return
        self.entries[key] = replace(
            old,
            state=state,
            task_id=str(rec["task_id"]) if rec.get("task_id") else old.task_id,
            error=str(rec["error"]) if rec.get("error") else None,
        )

    def _append(self, rec: dict[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # umask decides
            if self._torn:
                os.write(self._fh, b"\n")
                self._torn = False
        os.write(self._fh, (json.dumps(rec, sort_keys=True) + "\n").encode())
        os.fsync(self._fh)
        self._apply(rec)

    def intent(self, key: str, scene: str, provider: str, echo: str = "") -> None:
        """Record that a create is about to be sent; ``echo`` is what a list of tasks would show of it."""
        rec = {"key": key, "scene": scene, "provider": provider, "state": "intent", "at": time.time(), "echo": echo}
        self._append(rec)

    def task(self, key: str, task_id: str) -> None:
        """Record the task id the provider returned (the render is now paid for)."""
        self._append({"key": key, "state": "task", "task_id": task_id})

    def completed(self, key: str) -> None:
        """Record that the provider finished the task."""
        self._append({"key": key, "state": "completed"})

    def failed(self, key: str, error: str) -> None:
        """Record that the provider failed the task (no bytes; a later build may ask again)."""
        self._append({"key": key, "state": "failed", "error": error})

    def done(self, key: str) -> None:
        """Record that the render is in the cache index; the journal no longer needs it."""
        self._append({"key": key, "state": "done"})

    def compact(self) -> None:
        """Rewrite the journal with only the unfinished entries."""
        self.close()
        lines = []
        for e in sorted(self.entries.values(), key=lambda e: e.key):
            lines.append(
                {
                    "key": e.key,
                    "scene": e.scene,
                    "provider": e.provider,
                    "state": "intent",
                    "at": e.intent_at,
                    "echo": e.echo,
                }
            )
            if e.task_id:
                lines.append({"key": e.key, "state": "task", "task_id": e.task_id})
            if e.state in ("completed", "failed"):
                lines.append({"key": e.key, "state": e.state, "error": e.error})
        if not lines:
            self.path.unlink(missing_ok=True)
        else:
            atomic_write(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in lines).encode())
        self._torn = False

    def close(self) -> None:
        """Close the append handle."""
        if self._fh is not None:
            os.close(self._fh)
            self._fh = None
