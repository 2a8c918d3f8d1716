"""renderkit.lock: one byte-stable JSON block per scene, sorted by id, written atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from renderkit.errors import LockfileError
from renderkit.store.files import atomic_write

LOCK_VERSION = 1


@dataclass(frozen=True)
class LockShot:
    """One storyboard shot rendered as its own task."""

    key: str
    task_id: str
    sha256: str


@dataclass(frozen=True)
class LockTake:
    """One candidate of a scene with takes: pinned so that gc keeps it and changing pick stays free."""

    take: int
    key: str
    task_id: str
    sha256: str


@dataclass(frozen=True)
class LockEntry:
    """What one scene's output is pinned to."""

    id: str
    key: str
    provider_kind: str
    model: str
    size: str
    seconds: int
    task_id: str
    file: str
    sha256: str
    bytes: int
    shots: tuple[LockShot, ...] = field(default=())
    takes: tuple[LockTake, ...] = field(default=())  # every candidate rendered, the pick among them


@dataclass(frozen=True)
class Lock:
    """A whole lockfile."""

    entries: Mapping[str, LockEntry]

    def to_bytes(self) -> bytes:
        """Serialise deterministically: sorted ids and keys, two-space indent, trailing newline."""
        # Hand-rolled because json.dumps with indent falls back to the pure-Python encoder, and a no-op build of
        # 1,000 scenes serialises the lock to compare it with the file on disk.
        dump = json.dumps
        blocks = []
        for scene_id in sorted(self.entries):
            e = self.entries[scene_id]
            fields = [
                ("bytes", dump(e.bytes)),
                ("file", dump(e.file, ensure_ascii=False)),
                ("id", dump(e.id, ensure_ascii=False)),
                ("key", dump(e.key)),
                ("model", dump(e.model, ensure_ascii=False)),
                ("provider_kind", dump(e.provider_kind)),
                ("seconds", dump(e.seconds)),
                ("sha256", dump(e.sha256)),
            ]
            if e.shots:
                shots = ",\n".join(
                    "        {\n"
                    f'          "key": {dump(s.key)},\n'
                    f'          "sha256": {dump(s.sha256)},\n'
                    f'          "task_id": {dump(s.task_id, ensure_ascii=False)}\n'
                    "        }"
                    for s in e.shots
                )
                fields.append(("shots", f"[\n{shots}\n      ]"))
            fields.append(("size", dump(e.size)))
            if e.takes:
                takes = ",\n".join(
                    "        {\n"
                    f'          "key": {dump(t.key)},\n'
                    f'          "sha256": {dump(t.sha256)},\n'
                    f'          "take": {dump(t.take)},\n'
                    f'          "task_id": {dump(t.task_id, ensure_ascii=False)}\n'
                    "        }"
                    for t in e.takes
                )
                fields.append(("takes", f"[\n{takes}\n      ]"))
            fields.append(("task_id", dump(e.task_id, ensure_ascii=False)))
            body = ",\n".join(f'      "{name}": {value}' for name, value in fields)
            blocks.append(f"    {{\n{body}\n    }}")
        scenes = "[\n" + ",\n".join(blocks) + "\n  ]" if blocks else "[]"
        return f'{{\n  "lock_version": {LOCK_VERSION},\n  "scenes": {scenes}\n}}\n'.encode()


def _entry(raw: object, where: str) -> LockEntry:
    if not isinstance(raw, dict):
        raise LockfileError(f"{where}: expected an object; delete the lockfile and rebuild to recreate it")
    try:
        shots = tuple(LockShot(**s) for s in raw.get("shots", ()))
        takes = tuple(LockTake(**t) for t in raw.get("takes", ()))
        fields = {k: v for k, v in raw.items() if k not in ("shots", "takes")}
        entry = LockEntry(**fields, shots=shots, takes=takes)
    except TypeError as exc:
        raise LockfileError(f"{where}: {exc}; delete the lockfile and rebuild to recreate it") from None
    if not isinstance(entry.seconds, int) or not isinstance(entry.bytes, int):
        raise LockfileError(f"{where}: seconds and bytes must be integers")
    return entry


def read_lock(path: Path) -> Lock | None:
    """Read a lockfile; None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LockfileError(f"{path}: cannot be read ({exc.strerror or exc}); remove it and build again") from None
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LockfileError(f"{path}: not a renderkit lockfile ({exc}); delete it and rebuild") from None
    return parse_lock(doc, str(path))


def parse_lock(doc: object, path: str) -> Lock:
    """A lock from its parsed JSON; ``path`` names it in errors."""
    if not isinstance(doc, dict) or doc.get("lock_version") != LOCK_VERSION:
        found = doc.get("lock_version") if isinstance(doc, dict) else None
        raise LockfileError(
            f"{path}: lock_version {found!r} is not supported (this renderkit reads version {LOCK_VERSION}); "
            "upgrade renderkit or delete the lockfile and rebuild"
        )
    scenes = doc.get("scenes")
    if not isinstance(scenes, list):
        raise LockfileError(f"{path}: 'scenes' must be a list; delete the lockfile and rebuild")
    entries = {}
    for i, raw in enumerate(scenes):
        entry = _entry(raw, f"{path}: scenes[{i}]")
        entries[entry.id] = entry
    return Lock(entries)


def write_lock(path: Path, entries: Iterable[LockEntry]) -> bool:
    """Write the lock atomically unless its bytes are unchanged; return whether it was written."""
    data = Lock({e.id: e for e in entries}).to_bytes()
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return True
