"""Drop cache records and blobs that no lockfile references."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from renderkit.errors import InputError
from renderkit.manifest.load import load_manifest
from renderkit.store.cache import Cache
from renderkit.store.journal import Journal
from renderkit.store.layout import CacheLayout, lock_path
from renderkit.store.lockfile import read_lock


def collect(manifest_paths: Sequence[str | Path]) -> tuple[int, int]:
    """Keep what the manifests' locks pin and what an unfinished build still needs; return (records, bytes)."""
    roots: dict[CacheLayout, set[str]] = {}
    for path in manifest_paths:
        manifest = load_manifest(path)
        lock = read_lock(lock_path(manifest.path))
        keys = roots.setdefault(CacheLayout.for_project(manifest.root, os.environ), set())
        if lock is not None:
            keys.update(e.key for e in lock.entries.values())
            keys.update(s.key for e in lock.entries.values() for s in e.shots)
    records = freed = 0
    for layout, keys in roots.items():
        root = layout.root
        if not root.is_dir():
            continue
        keys = keys | set(Journal(layout.journal).entries)
        cache = Cache(layout)
        from filelock import FileLock, Timeout

        guard = FileLock(str(layout.build_lock))
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
