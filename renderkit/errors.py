"""renderkit's exception tree; every message says what to do next.

RenderkitError
├── InputError            bad input or usage: nothing was sent or written (exit 2)
│   ├── ManifestError     one or more located manifest diagnostics
│   ├── LockfileError     renderkit.lock is unreadable or from an unknown format
│   └── MissingKeyError   a provider's API key variable is not set
├── RefusedError          renderkit refused to spend (exit 3)
├── ProviderError         the provider or the network said no
├── CacheError            the local cache is unusable
├── StorageError          the disk refused a write renderkit needs (full, read-only, not a folder)
├── RemoteError           the remote cache (object storage) failed; the local build can go on without it
└── BusyError             another build held the cache for longer than the build would wait (exit 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


class RenderkitError(Exception):
    """Root of every error renderkit raises on purpose."""

    exit_code = 1


class InputError(RenderkitError):
    """Bad input or usage; raised before anything is sent or written."""

    exit_code = 2


@dataclass(frozen=True)
class Diagnostic:
    """One located problem in an input file."""

    file: str
    line: int
    col: int
    path: str
    message: str
    code: str = ""
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        field = f" {self.path}:" if self.path else ""
        suffix = f" [{self.code}]" if self.code else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}:{field} {prefix}{self.message}{suffix}"


class ManifestError(InputError):
    """The manifest has one or more errors, each located as FILE:LINE:COL."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class LockfileError(InputError):
    """renderkit.lock cannot be read; fix or delete it."""


class MissingKeyError(InputError):
    """A provider needs an API key that is not in the environment."""

    def __init__(self, provider: str, env_var: str) -> None:
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"provider {provider!r} needs an API key: set the environment variable {env_var} "
            "(keys are read only from the environment)"
        )


class RefusedError(RenderkitError):
    """renderkit refused to spend money (frozen build or budget exceeded)."""

    exit_code = 3


class ProviderError(RenderkitError):
    """The provider or the network refused a request.

    ``retryable`` says whether the same request may be sent again; ``maybe_sent`` marks a create whose
    request may have reached the provider, so that resending it could pay twice.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        maybe_sent: bool = False,
        expired: bool = False,
    ) -> None:
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent
        self.expired = expired
        super().__init__(message)


class CacheError(RenderkitError):
    """The cache directory cannot be used."""


class StorageError(RenderkitError):
    """The disk refused a write (full, read-only, a file where a folder must be); the message names the path."""


class RemoteError(RenderkitError):
    """The remote cache failed: the message names the operation and the remote's URL, never a secret."""


class BusyError(RenderkitError):
    """Another build holds the cache; nothing was sent."""

    exit_code = 4

    def __init__(self, cache_dir: Path, waited: float) -> None:
        self.cache_dir = cache_dir
        super().__init__(
            f"another renderkit build kept the cache {cache_dir} busy for {waited:g}s (--wait); nothing was sent. "
            "Run again when it has finished, or wait longer with --wait SECONDS"
        )
