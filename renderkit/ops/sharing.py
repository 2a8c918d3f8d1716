"""Renders paid for elsewhere: outputs the lock pins are adopted, the remote is read before paying and written
as soon as a render is cached.

Before anything is paid for, a render key is looked up in this order, and the first hit wins: the local index;
an output file whose sha256 the lock pins for this key; the remote's record and blob, re-hashed before use; a
journaled task; and only then a new create. A remote that fails is said once and the build goes on locally.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from renderkit.errors import RemoteError
from renderkit.ops.outputs import Outputs
from renderkit.plan.plan import PlanItem
from renderkit.request import render_key
from renderkit.store.cache import Cache, Record, sha256_file
from renderkit.store.layout import REMOTE_ENV, REMOTE_MODE_ENV
from renderkit.store.lockfile import Lock

if TYPE_CHECKING:  # obstore loads only for a build that has a remote
    from renderkit.store.remote import Remote, RemoteConfig

# Remote calls in flight at once: object stores answer each in milliseconds and serve many at a time.
CONCURRENCY = 8


def wanted_keys(items: Iterable[PlanItem]) -> list[str]:
    """The keys a build would render for ``items``: each render's (every candidate of a scene with takes), and
    each shot of one rendered shot by shot."""
    keys: dict[str, None] = {}
    for render in (r for item in items for r in item.renders):
        keys[render.key] = None
        for shot in render.shots:
            if not shot.cached:
                keys[shot.key] = None
    return list(keys)


class Sharing:
    """One run's traffic with renders made elsewhere: what was adopted, pulled and pushed, and what failed."""

    def __init__(self, cache: Cache, environ: Mapping[str, str], manifest_remote: str | None) -> None:
        self.cache = cache
        self.environ = environ
        self.config: RemoteConfig | None = None
        if (environ.get(REMOTE_ENV) or manifest_remote) and environ.get(REMOTE_MODE_ENV) != "off":
            from renderkit.store.remote import RemoteConfig

            self.config = RemoteConfig.from_env(manifest_remote, environ)
        self.adopted: list[str] = []  # scene ids
        self.pulled: list[str] = []  # render keys
        self.pushed: list[str] = []
        self.not_pushed: list[str] = []
        self.down: str | None = None  # why the remote stopped being used
        self._remote: Remote | None = None
        self._lock = threading.Lock()
        self._said: set[str] = set()

    @property
    def pushes(self) -> bool:
        """Whether this machine sends what it renders to the remote (one is set, not read-only)."""
        return self.config is not None and self.config.mode == "rw"

    @property
    def found(self) -> bool:
        """Whether anything missing from the cache was adopted or pulled."""
        return bool(self.adopted or self.pulled)

    @property
    def warnings(self) -> list[str]:
        """What the user should hear about the remote, each once."""
        out = list(dict.fromkeys(self._remote.warnings)) if self._remote is not None else []
        if self.down:
            out.append(f"{self.down}; this build went on without the remote")
        if self.not_pushed:
            url = self.config.url if self.config else "the remote"
            out.append(f"{len(self.not_pushed)} render(s) were not pushed to {url}; run `renderkit push` later")
        return out

    def unsaid(self) -> list[str]:
        """The warnings not handed out before, each once."""
        fresh = [w for w in self.warnings if w not in self._said]
        self._said.update(fresh)
        return fresh

    def origin(self, scene_id: str, key: str) -> str | None:
        """How a render this run did not make came to be cached, if this run brought it."""
        if scene_id in self.adopted:
            return "adopted: the output is the file the lock pins"
        if key in self.pulled:
            return "pulled from the remote"
        return None

    def remote(self) -> Remote | None:
        """The remote, opened on first use; None when there is none or it failed."""
        if self.config is None or self.down is not None:
            return None
        if self._remote is None:
            from renderkit.store.remote import Remote

            try:
                self._remote = Remote(self.config, self.environ)
            except RemoteError as exc:
                self.down = str(exc)
                return None
        return self._remote

    def adopt(self, items: Sequence[PlanItem], lock: Lock | None, outputs: Outputs) -> None:
        """Take into the cache every output whose bytes are what the lock pins for the scene's current key.

        Outputs committed with Git LFS or restored from a CI artifact then count as cached: nothing is paid.
        """
        if lock is None:
            return
        cache = self.cache
        for item in items:
            entry = lock.entries.get(item.scene.id)
            path = outputs.path(item.scene)
            if entry is None or entry.key != item.key:
                continue
            try:
                if path.stat().st_size != entry.bytes or sha256_file(path) != entry.sha256:
                    continue
            except OSError:
                continue
            cache.add_blob_copy(path, entry.sha256)
            shots = tuple({"key": s.key, "task_id": s.task_id, "sha256": s.sha256} for s in entry.shots)
            identity = item.request.identity()
            cache.put(Record(item.key, identity, entry.provider_kind, entry.task_id, entry.sha256, entry.bytes, shots))
            cache.record_output(path, entry.sha256)
            self.adopted.append(item.scene.id)

    def pull(self, items: Sequence[PlanItem]) -> None:
        """Fetch the records and blobs of what ``items`` would render that the remote holds, into the cache."""
        self.pull_keys([k for k in wanted_keys(items) if self.cache.usable(k) is None])

    def pull_keys(self, keys: Sequence[str]) -> None:
        """Fetch the records and blobs of ``keys`` that the remote holds, into the cache."""
        if not keys or self.remote() is None:
            return
        from concurrent.futures import ThreadPoolExecutor  # (and logging): only a build with a remote needs them

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            found = [key for key, ok in zip(keys, pool.map(self._pull_one, keys), strict=True) if ok]
        self.pulled += found

    def _pull_one(self, key: str) -> bool:
        remote = self.remote()
        if remote is None:
            return False
        try:
            payload = remote.get_record(key)
            if payload is None:
                return False
            record = _trusted(key, payload)
            if record is None:
                remote.warnings.append(f"remote record {key[:12]} does not describe its own key; ignored")
                return False
            if not self.cache.has_blob(record.sha256, record.bytes):
                part = self.cache.temp_path(f"{key}.pull")
                if not remote.pull_blob(record.sha256, part):
                    part.unlink(missing_ok=True)
                    return False
                self.cache.add_blob(part, record.sha256)
            self.cache.put(record)
            self.cache.mark(self._pushed_marker(), key)
            return True
        except RemoteError as exc:
            self._failed(exc)
            return False

    def push(self, records: Iterable[Record], *, check: bool = False) -> None:
        """Send each record's blob, then the record, unless the remote is known to hold it already.

        With ``check`` the remote is asked even about what this cache remembers pushing (``renderkit push``).
        """
        if not self.pushes:
            return
        marker = self._pushed_marker()
        todo = [r for r in records if check or not self.cache.marked(marker, r.key)]
        if not todo:
            return
        if self.remote() is None:
            self.not_pushed += [r.key for r in todo]
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(self._push_one, todo))

    def push_mine(self, items: Iterable[PlanItem]) -> None:
        """Push every render of ``items`` (their candidates and shots too) that the remote is not known to hold."""
        if not self.pushes:
            return
        keys = [k for item in items for r in item.renders for k in (r.key, *(s.key for s in r.shots))]
        records = [r for r in (self.cache.usable(k) for k in dict.fromkeys(keys)) if r is not None]
        self.push(records)

    def _push_one(self, record: Record) -> None:
        remote = self.remote()
        if remote is None:
            with self._lock:
                self.not_pushed.append(record.key)
            return
        try:
            sent = remote.push_blob(record.sha256, self.cache.blob_path(record.sha256))
            sent = remote.put_record(record.key, record.to_json().encode()) or sent
        except RemoteError as exc:
            self._failed(exc)
            with self._lock:
                self.not_pushed.append(record.key)
            return
        self.cache.mark(self._pushed_marker(), record.key)
        if sent:
            with self._lock:
                self.pushed.append(record.key)

    def _pushed_marker(self) -> str:
        """The index namespace that remembers which keys this remote already holds."""
        return f"pushed:{self.config.url if self.config else ''}"

    def _failed(self, exc: RemoteError) -> None:
        with self._lock:
            self.down = self.down or str(exc)


def _trusted(key: str, payload: bytes) -> Record | None:
    """The record in ``payload`` if it is well formed and its request hashes to ``key``."""
    try:
        record = Record.from_json(payload.decode("utf-8"))
        if record.key != key or render_key(record.request) != key:
            return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return record
