"""The one TLS context every HTTP client of a process shares, read on a spare thread while the build imports.

It is the context httpx builds by default (certifi's CA bundle, verifying hostnames), made here without importing
httpx, so that ``prepare`` can start reading the bundle before the HTTP stack is imported.
"""

from __future__ import annotations

import ssl
import threading

_lock = threading.Lock()
_made: list[ssl.SSLContext] = []


def tls_context() -> ssl.SSLContext:
    """The process's verifying TLS context; the first call reads the CA bundle (about 45 ms, GIL released)."""
    with _lock:  # a second caller waits for the first instead of reading the bundle again
        if not _made:
            import certifi  # httpx's own CA bundle

            _made.append(ssl.create_default_context(cafile=certifi.where()))
        return _made[0]


def prepare() -> None:
    """Start reading the CA bundle on a spare thread; ``tls_context`` then waits for it rather than reading it."""
    if not _made:
        threading.Thread(target=tls_context, name="renderkit-tls", daemon=False).start()
