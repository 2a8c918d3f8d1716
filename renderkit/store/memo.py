"""The no-op memo: proof that nothing changed since the last build, checked with stats alone.

After a build that left every scene cached and every output fresh, renderkit records the manifest's sha256,
the stat (size, mtime, inode) of every input file, output and the lock, and the report. The next build reads
the manifest's bytes and stats those files; if everything matches it prints the stored report without parsing
YAML, planning, or opening the cache index. Any difference falls through to the full build. This module
imports only the standard library, so the check costs less than importing the rest of renderkit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from renderkit.store.layout import (
    CACHE_DIR_ENV,
    REMOTE_ENV,
    REMOTE_MODE_ENV,
    REMOTE_SIGNING_KEY_ENV,
    CacheLayout,
)

MEMO_VERSION = 1


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def memo_path(manifest: Path, environ: Mapping[str, str]) -> Path:
    """Where the memo of ``manifest`` lives: in its cache directory."""
    manifest = Path(os.path.abspath(manifest))
    return CacheLayout.for_project(manifest.parent, environ).memo(manifest)


def _fingerprint(manifest_bytes: bytes, version: str, environ: Mapping[str, str]) -> str:
    # Where the cache and the remote are, so that a build with another one is not answered from this memo (a new
    # remote must receive what is cached); of the signing key only whether it is set, never the key.
    places = [environ.get(name, "") for name in (CACHE_DIR_ENV, REMOTE_ENV, REMOTE_MODE_ENV)]
    signing = bool(environ.get(REMOTE_SIGNING_KEY_ENV))
    seed = [MEMO_VERSION, version, *places, signing, hashlib.sha256(manifest_bytes).hexdigest()]
    return json.dumps(seed)


def check(manifest: Path, version: str, environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The stored report when nothing changed since the memo was written, else None."""
    try:
        data = manifest.read_bytes()
        memo = json.loads(memo_path(manifest, environ).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(memo, dict) or memo.get("fingerprint") != _fingerprint(data, version, environ):
        return None
    files = memo.get("files")
    if not isinstance(files, list):
        return None
    for entry in files:
        if not isinstance(entry, list) or len(entry) != 2 or _stat(str(entry[0])) != entry[1]:
            return None
    report = memo.get("report")
    return report if isinstance(report, dict) else None


def record(
    manifest: Path,
    version: str,
    environ: Mapping[str, str],
    watched: Iterable[str],
    report: dict[str, Any],
) -> None:
    """Write the memo (best effort: a memo that cannot be written only costs the next build its shortcut)."""
    from renderkit.store.files import atomic_write

    try:
        data = manifest.read_bytes()
        files = []
        for path in sorted({os.path.abspath(p) for p in watched}):
            st = _stat(path)
            if st is None:
                return
            files.append([path, st])
        doc = {"fingerprint": _fingerprint(data, version, environ), "files": files, "report": report}
        atomic_write(memo_path(manifest, environ), json.dumps(doc, separators=(",", ":")).encode())
    except OSError:
        return
