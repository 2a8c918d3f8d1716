"""`renderkit push` and `renderkit pull`: move the renders a lock names to and from the remote, explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from renderkit.errors import InputError, LockfileError
from renderkit.manifest.load import load_manifest
from renderkit.manifest.model import Manifest
from renderkit.ops.sharing import Sharing
from renderkit.plan.state import open_state
from renderkit.store.cache import Cache, Record
from renderkit.store.layout import lock_path
from renderkit.store.lockfile import Lock


@dataclass(frozen=True)
class Transfer:
    """What a push or a pull did, in render keys."""

    moved: tuple[str, ...]  # sent or fetched
    present: tuple[str, ...]  # already where they had to be
    missing: tuple[str, ...]  # available on neither side
    warnings: tuple[str, ...]


def _open(manifest_path: Path, environ: Mapping[str, str]) -> tuple[Manifest, Lock, Cache, Sharing]:
    manifest = load_manifest(manifest_path)
    state = open_state(manifest, environ)
    if state.lock is None:
        raise LockfileError(f"{lock_path(manifest.path)}: no lock; run `renderkit build` first")
    sharing = Sharing(state.cache, environ, manifest.remote)
    if sharing.config is None:
        raise InputError(
            "no remote is configured: add `remote: s3://BUCKET/PREFIX` (or file:///DIR) to the manifest, "
            "or set RENDERKIT_REMOTE"
        )
    return manifest, state.lock, state.cache, sharing


def _keys(lock: Lock) -> list[str]:
    return list(dict.fromkeys(k for e in lock.entries.values() for k in (e.key, *(s.key for s in e.shots))))


def push(manifest_path: Path, environ: Mapping[str, str] | None = None) -> Transfer:
    """Send every render the lock names that the local cache holds and the remote does not."""
    env = os.environ if environ is None else environ
    _, lock, cache, sharing = _open(manifest_path, env)
    if sharing.config is not None and not sharing.pushes:
        raise InputError(f"push: the remote is read-only here (RENDERKIT_REMOTE_MODE={sharing.config.mode})")
    try:
        keys = _keys(lock)
        records: list[Record] = [r for r in (cache.usable(k) for k in keys) if r is not None]
        sharing.push(records, check=True)
        local = {r.key for r in records}
        pushed = set(sharing.pushed)
        return Transfer(
            moved=tuple(k for k in keys if k in pushed),
            present=tuple(k for k in keys if k in local and k not in pushed and k not in sharing.not_pushed),
            missing=tuple(k for k in keys if k not in local),
            warnings=tuple(sharing.warnings),
        )
    finally:
        cache.close()


def pull(manifest_path: Path, environ: Mapping[str, str] | None = None) -> Transfer:
    """Fetch every render the lock names that the local cache lacks, and write the outputs it pins."""
    env = os.environ if environ is None else environ
    manifest, lock, cache, sharing = _open(manifest_path, env)
    try:
        keys = _keys(lock)
        present = [k for k in keys if cache.usable(k) is not None]
        sharing.pull_keys([k for k in keys if k not in present])
        for entry in lock.entries.values():
            record = cache.usable(entry.key)
            dest = manifest.root / entry.file
            if record is not None and not cache.output_fresh(dest, record.sha256):
                cache.materialize(record, dest)
        return Transfer(
            moved=tuple(sharing.pulled),
            present=tuple(present),
            missing=tuple(k for k in keys if k not in present and k not in sharing.pulled),
            warnings=tuple(sharing.warnings + cache.problems),
        )
    finally:
        cache.close()
