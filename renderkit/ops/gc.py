"""Drop cache records and blobs that no lock references, anywhere the project keeps one.

A render is kept while any lock names it: every renderkit lock in the project's working tree and, in a git
repository, the locks on every local branch and tag (every commit with ``all_commits``). Keys an unfinished
build journaled are kept too. The remote is swept only when asked, and never of objects younger than a day,
which a build on another machine may be pushing for a lock not yet committed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from renderkit.errors import InputError
from renderkit.manifest.load import load_manifest
from renderkit.store.cache import Cache
from renderkit.store.journal import Journal
from renderkit.store.layout import CacheLayout
from renderkit.store.lockfile import Lock, parse_lock
from renderkit.store.remote import Remote

REMOTE_GRACE = 24 * 3600.0  # seconds: remote objects younger than this are never swept
_SKIP_DIRS = {".git", ".renderkit", ".venv", "node_modules", "__pycache__"}


@dataclass
class Kept:
    """What the locks reference: render keys and blob digests."""

    keys: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    locks: int = 0

    def add(self, lock: Lock) -> None:
        """Keep everything ``lock`` names."""
        self.locks += 1
        for entry in lock.entries.values():
            self.keys.add(entry.key)
            self.blobs.add(entry.sha256)
            for shot in entry.shots:
                self.keys.add(shot.key)
                self.blobs.add(shot.sha256)
            for take in entry.takes:
                self.keys.add(take.key)
                self.blobs.add(take.sha256)


@dataclass
class Swept:
    """What a collection dropped (or, in a dry run, would drop)."""

    records: list[str] = field(default_factory=list)
    blobs: list[tuple[str, int]] = field(default_factory=list)
    posters: list[tuple[Path, int]] = field(default_factory=list)  # poster frames of blobs no longer kept

    @property
    def bytes(self) -> int:
        """Bytes freed by the dropped blobs and poster frames."""
        return sum(size for _, size in self.blobs) + sum(size for _, size in self.posters)


@dataclass
class Collection:
    """The result of one ``gc``: per cache directory, and for the remote when swept."""

    kept: Kept
    local: dict[Path, Swept] = field(default_factory=dict)
    remote: Swept | None = None


def collect(
    manifest_paths: Sequence[str | Path],
    *,
    environ: dict[str, str] | None = None,
    dry_run: bool = False,
    all_commits: bool = False,
    remote: bool = False,
) -> Collection:
    """Keep what any lock of the project references and drop the rest; nothing is deleted with ``dry_run``."""
    env = dict(os.environ if environ is None else environ)
    manifests = [load_manifest(path) for path in manifest_paths]
    kept = Kept()
    roots = {_project_root(m.root) for m in manifests}
    for root in sorted(roots):
        for lock in _working_tree_locks(root):
            kept.add(lock)
        for lock in _git_locks(root, all_commits):
            kept.add(lock)
    result = Collection(kept)
    layouts = {CacheLayout.for_project(m.root, env) for m in manifests}
    for layout in sorted(layouts, key=lambda lay: lay.root):
        if layout.root.is_dir():
            result.local[layout.root] = _sweep_local(layout, kept, dry_run)
    if remote:
        urls = {m.remote for m in manifests}
        from renderkit.store.remote import RemoteConfig

        configs = {RemoteConfig.from_env(url, env) for url in urls} - {None}
        if not configs:
            raise InputError("gc --remote: no remote is configured (remote: in the manifest, or RENDERKIT_REMOTE)")
        for config in configs:
            assert config is not None
            if config.mode != "rw":
                raise InputError(
                    f"gc --remote: the remote {config.url} is read-only (RENDERKIT_REMOTE_MODE={config.mode})"
                )
            result.remote = _sweep_remote(Remote(config, env), kept, dry_run)
    return result


def _project_root(folder: Path) -> Path:
    """The git work tree holding ``folder``, else ``folder`` itself."""
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return folder
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else folder


def _working_tree_locks(root: Path) -> Iterator[Lock]:
    """Every renderkit lock in the working tree (files that are not renderkit locks are ignored)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".lock"):
                lock = _lock_or_none(Path(folder, name).read_bytes() if Path(folder, name).is_file() else b"")
                if lock is not None:
                    yield lock


def _git_locks(root: Path, all_commits: bool) -> Iterator[Lock]:
    """The renderkit locks on every local branch and tag (or in every commit), read through git."""
    if not (root / ".git").exists():
        return
    refs = ["--all"] if all_commits else ["--branches", "--tags"]
    revs = _git(root, ["rev-list", "--no-walk" if not all_commits else "--all", *refs])
    commits = [r for r in revs.split() if r]
    blobs: set[str] = set()
    for commit in commits:
        listing = _git(root, ["ls-tree", "-r", "-z", commit])
        for row in listing.split("\0"):
            meta, _, path = row.partition("\t")
            parts = meta.split()
            if path.endswith(".lock") and len(parts) == 3 and parts[1] == "blob":
                blobs.add(parts[2])
    for blob in sorted(blobs):
        lock = _lock_or_none(_git(root, ["cat-file", "blob", blob]).encode("utf-8", "surrogateescape"))
        if lock is not None:
            yield lock


def _git(root: Path, args: list[str]) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, errors="surrogateescape", timeout=300
    )
    return out.stdout if out.returncode == 0 else ""


def _lock_or_none(data: bytes) -> Lock | None:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or "lock_version" not in doc:
        return None
    try:
        return parse_lock(doc, "lock")
    except InputError:
        return None


def _sweep_local(layout: CacheLayout, kept: Kept, dry_run: bool) -> Swept:
    from filelock import FileLock, Timeout

    swept = Swept()
    guard = FileLock(str(layout.build_lock))
    try:
        guard.acquire(timeout=0)
    except Timeout:
        raise InputError(f"a build is using the cache {layout.root}; run gc when it has finished") from None
    cache = Cache(layout)
    try:
        keep = kept.keys | set(Journal(layout.journal).entries)
        keep_blobs = set(kept.blobs)
        for key in list(cache.keys()):
            record = cache.get(key)
            if key in keep and record is not None:
                keep_blobs.add(record.sha256)
                keep_blobs.update(s["sha256"] for s in record.shots)
            else:
                swept.records.append(key)
        if layout.blobs.is_dir():
            for blob in sorted(layout.blobs.glob("*/*")):
                if blob.name not in keep_blobs:
                    swept.blobs.append((blob.name, blob.stat().st_size))
        if layout.posters.is_dir():
            for poster in sorted(layout.posters.glob("*/*.jpg")):
                if poster.name.split("-", 1)[0] not in keep_blobs:
                    swept.posters.append((poster, poster.stat().st_size))
        if not dry_run:
            for key in swept.records:
                cache.delete(key)
            for sha256, _ in swept.blobs:
                cache.drop_blob(sha256)
            for poster, _ in swept.posters:
                poster.unlink(missing_ok=True)
            cache.clean_tmp(set())
    finally:
        cache.close()
        guard.release()
    return swept


def _sweep_remote(remote: Remote, kept: Kept, dry_run: bool) -> Swept:
    swept = Swept()
    before = time.time() - REMOTE_GRACE
    swept.records = [key for key in remote.list_records(older_than=before) if key not in kept.keys]
    swept.blobs = [(sha, size) for sha, size in remote.list_blobs(older_than=before) if sha not in kept.blobs]
    if not dry_run:
        for key in swept.records:
            remote.delete_record(key)
        for sha256, _ in swept.blobs:
            remote.delete_blob(sha256)
    return swept
