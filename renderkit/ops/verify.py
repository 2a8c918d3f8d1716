"""Check the files a lock names: each exists with the recorded size and sha256."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from renderkit.errors import LockfileError
from renderkit.store.cache import sha256_file
from renderkit.store.layout import lock_path
from renderkit.store.lockfile import read_lock


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one locked file."""

    file: str
    ok: bool
    problem: str = ""


def verify_lock(manifest_path: Path) -> list[FileCheck]:
    """Hash every file in the lock beside ``manifest_path`` (full reads: this is the slow, thorough check)."""
    path = lock_path(manifest_path)
    lock = read_lock(path)
    if lock is None:
        raise LockfileError(f"{path}: no lockfile to verify; run `renderkit build` first")
    results = []
    for scene_id in sorted(lock.entries):
        entry = lock.entries[scene_id]
        target = manifest_path.parent / entry.file
        if not target.is_file():
            results.append(FileCheck(entry.file, False, "missing; run `renderkit build` to restore it from the cache"))
            continue
        size = target.stat().st_size
        if size != entry.bytes:
            results.append(FileCheck(entry.file, False, f"{size} bytes, lock says {entry.bytes}"))
            continue
        digest = sha256_file(target)
        if digest != entry.sha256:
            results.append(FileCheck(entry.file, False, f"sha256 {digest[:12]}…, lock says {entry.sha256[:12]}…"))
            continue
        results.append(FileCheck(entry.file, True))
    return results
