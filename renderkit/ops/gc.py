"""Drop cache records and blobs that no lockfile references."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from renderkit.errors import InputError
from renderkit.manifest.load import load_manifest
from renderkit.plan.state import cache_dir_for
from renderkit.store.cache import Cache
from renderkit.store.journal import Journal
from renderkit.store.lockfile import lock_path, read_lock


def collect(manifest_paths: Sequence[str | Path]) -> tuple[int, int]:
    """Keep what the manifests' locks pin and what an unfinished build still needs; return (records, bytes)."""
    roots: dict[Path, set[str]] = {}
    for path in manifest_paths:
        manifest = load_manifest(path)
        lock = read_lock(lock_path(manifest.path))
        keys = roots.setdefault(cache_dir_for(manifest), set())
        if lock is not None:
            keys.update(e.key for e in lock.entries.values())
            keys.update(s.key for e in lock.entries.values() for s in e.shots)
    records = freed = 0
    for root, keys in roots.items():
        if not root.is_dir():
            continue
        journal_file = root / "journal.jsonl"
        keys = keys | set(Journal(journal_file).entries)
        cache = Cache(root)
        from filelock import FileLock, Timeout

        guard = FileLock(str(root / "build.lock"))
        try:
            guard.acquire(timeout=0)
        except Timeout:
            raise InputError(f"a build is using the cache {root}; run gc when it has finished") from None
        try:
            r, b = cache.gc(keys)
        finally:
            cache.close()
            guard.release()
        records += r
        freed += b
    return records, freed
