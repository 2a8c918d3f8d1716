"""An in-memory DownloadSink for provider tests."""

from __future__ import annotations


class MemorySink:
    """Holds downloaded bytes; counts resets so tests can see a restart from byte 0."""

    def __init__(self, held: bytes = b"") -> None:
        self.data = bytearray(held)
        self.resets = 0
        self.writes = 0

    @property
    def offset(self) -> int:
        """Bytes already held."""
        return len(self.data)

    def write(self, chunk: bytes) -> None:
        """Append a chunk."""
        self.data += chunk
        self.writes += 1

    def reset(self) -> None:
        """Drop everything held."""
        self.data.clear()
        self.resets += 1
