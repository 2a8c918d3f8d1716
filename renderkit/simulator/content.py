"""Downloadable bodies: byte parts plus runs of zeros (MP4 padding), served by byte range without copying."""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK = 1 << 20


@functools.cache
def _zeros() -> bytes:
    return bytes(CHUNK)


class Unsatisfiable(Exception):
    """The Range header names no byte of the body (HTTP 416)."""


@dataclass(frozen=True)
class Payload:
    """A body made of byte strings and zero runs (ints), with its media type and a stable ETag."""

    parts: tuple[bytes | int, ...]
    media_type: str
    etag: str

    @property
    def size(self) -> int:
        """Total length in bytes."""
        return sum(p if isinstance(p, int) else len(p) for p in self.parts)

    def iter_range(self, start: int, stop: int) -> Iterator[bytes]:
        """Yield the bytes in ``[start, stop)`` in chunks of at most 1 MiB."""
        pos = 0
        for part in self.parts:
            length = part if isinstance(part, int) else len(part)
            lo, hi = max(start, pos), min(stop, pos + length)
            for at in range(lo, hi, CHUNK):
                end = min(hi, at + CHUNK)
                if isinstance(part, int):
                    # Whole chunks of padding are one shared block: a 1 GiB download copies no zeros.
                    yield _zeros() if end - at == CHUNK else bytes(end - at)
                else:
                    yield part[at - pos : end - pos]
            pos += length


def pad_mp4(mp4: bytes, pad_to: int | None) -> tuple[bytes | int, ...]:
    """Grow ``mp4`` to ``pad_to`` bytes with a ``free`` box placed just before ``moov``.

    Placing the padding before ``moov`` keeps every sample offset valid and keeps ``moov`` last, so a
    truncated download of a padded file still lacks its index and is rejected by decoders.
    """
    pad = (pad_to or 0) - len(mp4)
    if pad < 8:
        return (mp4,)
    moov = _box_offset(mp4, b"moov")
    if pad <= 0xFFFFFFFF:
        header = struct.pack(">I4s", pad, b"free")
    else:
        header = struct.pack(">I4sQ", 1, b"free", pad)
    return (mp4[:moov], header, pad - len(header), mp4[moov:])


def _box_offset(mp4: bytes, kind: bytes) -> int:
    pos = 0
    while pos + 8 <= len(mp4):
        size, name = struct.unpack_from(">I4s", mp4, pos)
        if name == kind:
            return pos
        if size == 1:
            size = struct.unpack_from(">Q", mp4, pos + 8)[0]
        if size < 8:
            break
        pos += size
    raise ValueError(f"no top-level {kind.decode()} box in the MP4")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, stop)`` for a single ``bytes=`` range; None to send everything; Unsatisfiable if empty."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None  # multiple or foreign ranges: answer 200 with the whole body, as RFC 9110 allows
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()):
        return None
    if last and not last.isdigit():
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range is ignored, not refused (RFC 9110, 14.1.1)
    if start >= size:
        raise Unsatisfiable
    return start, min(size, int(last) + 1) if last else size
