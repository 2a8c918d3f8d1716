"""What the planner knows about past builds: the lockfile and the cache index, read without writing."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

from renderkit.manifest.load import Manifest
from renderkit.plan.plan import Previous
from renderkit.store.cache import Cache, Record
from renderkit.store.journal import Journal
from renderkit.store.layout import CacheLayout, lock_path
from renderkit.store.lockfile import Lock, LockEntry, read_lock


class BuildState:
    """The planner's view of the lock and the cache (see ``renderkit.plan.State``)."""

    def __init__(self, cache: Cache, lock: Lock | None, root: Path | None = None) -> None:
        self.cache = cache
        self.lock = lock
        self._journal: dict[str, str] | None = None
        self.root = root  # where the lock's file paths start (the manifest's folder)
        self._records: dict[str, Record | None] = {}
        self._cached: dict[str, bool] = {}

    def record(self, key: str) -> Record | None:
        """The cache record for a key (memoised: the planner and the build ask more than once)."""
        if key not in self._records:
            if not self._records and self.lock is not None:
                # A rebuild mostly asks for the keys its lock pins: read them all in a few queries.
                self._records.update(self.cache.get_many(e.key for e in self.lock.entries.values()))
            if key not in self._records:
                self._records[key] = self.cache.get(key)
        return self._records[key]

    def cached(self, key: str) -> bool:
        """The cache holds a finished render for this key whose blob is present (memoised like ``record``)."""
        if key not in self._cached:
            rec = self.record(key)
            self._cached[key] = rec is not None and self.cache.has_blob(rec.sha256, rec.bytes)
        return self._cached[key]

    def paid(self, key: str) -> str | None:
        """The task id the journal holds for ``key`` (created, not yet downloaded), or None."""
        if self._journal is None:
            entries = Journal(self.cache.layout.journal).entries if self.cache.root.is_dir() else {}
            self._journal = {k: e.task_id for k, e in entries.items() if e.task_id and e.state != "failed"}
        return self._journal.get(key)

    def previous(self, scene_id: str) -> Previous | None:
        """What the lock says this scene rendered last, with the request it was made from when cached."""
        if self.lock is None or scene_id not in self.lock.entries:
            return None
        entry = self.lock.entries[scene_id]
        rec = self.record(entry.key)
        request = rec.request if rec is not None else None
        return Previous(key=entry.key, request=request, output=functools.partial(self._at_hand, entry))

    def _at_hand(self, entry: LockEntry) -> bool:
        """Whether the output the lock pins is on disk with its size (a build checks its sha256 before use)."""
        if self.root is None:
            return False
        try:
            return os.stat(os.path.join(self.root, entry.file)).st_size == entry.bytes
        except OSError:
            return False


def open_state(
    manifest: Manifest, environ: Mapping[str, str] | None = None, cache_dir: Path | None = None
) -> BuildState:
    """Open the lock beside the manifest and the cache without creating either.

    The cache is ``cache_dir`` when given, else the one ``environ`` (default: the process's) points at.
    """
    layout = CacheLayout(cache_dir) if cache_dir else CacheLayout.for_project(manifest.root, environ or os.environ)
    return BuildState(Cache(layout), read_lock(lock_path(manifest.path)), manifest.root)
