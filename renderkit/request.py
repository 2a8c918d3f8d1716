"""The render request: everything that decides one render's output, and nothing else.

Both the render key and the wire body derive from a ``Request``: the key hashes ``identity()`` (RFC 8785
canonical JSON), and each provider adapter builds its body from the same object. A field added here reaches both
or neither. Base URLs, API keys, provider names, output paths, scene order and YAML formatting stay out of it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Bump when the identity's shape or meaning changes: every key changes with it, so old renders are not reused.
KEY_VERSION = 1

Link = Literal["remix_of", "continue_from", "extend_of"]
# The fields that make a scene build on (and wait for) another one; a scene has at most one of them.
UPSTREAM: tuple[Link, ...] = ("remix_of", "continue_from", "extend_of")


def parse_size(size: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; ValueError for anything else."""
    width, sep, height = size.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise ValueError(f"{size!r} is not WIDTHxHEIGHT")
    return int(width), int(height)


@dataclass(frozen=True)
class Shot:
    """One storyboard shot."""

    prompt: str
    seconds: int


@dataclass(frozen=True)
class ImageRef:
    """A reference image: a file inside the project (with its content's sha256) or an https URL."""

    path: Path | None
    url: str | None
    sha256: str | None

    def identity(self) -> dict[str, object]:
        """What identifies the image in a request: its URL, or its file's content hash (never its name)."""
        return {"url": self.url} if self.url is not None else {"sha256": self.sha256}


@dataclass(frozen=True)
class Request:
    """One render's request.

    ``link`` says how the render builds on another (remix, continuation or extension) and ``upstream_key`` is
    that render's key, so a changed upstream changes this key too. ``shot`` marks one shot of a storyboard that
    its kind renders shot by shot; its first shot carries the scene's image or the continued scene's link.
    """

    kind: str
    model: str
    prompt: str
    size: str
    seconds: int
    take: str | None = None
    image: ImageRef | None = None
    storyboard: tuple[Shot, ...] = ()
    link: Link | None = None
    upstream_key: str | None = None
    shot: bool = False
    private: bool | None = None
    aspect_ratio: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # provider-specific body fields, sent verbatim

    def identity(self) -> dict[str, object]:
        """The normalized request the render key hashes (JSON values only)."""
        image: dict[str, object] | None = None if self.image is None else self.image.identity()
        if self.shot:
            if self.link == "continue_from":
                image = {"last_frame_of": self.upstream_key}
            return {**self._core(image), "shot": True, **self._options()}
        out: dict[str, object] = {
            **self._core(image),
            "remix_of": self.upstream_key if self.link == "remix_of" else None,
            "storyboard": [{"prompt": s.prompt, "seconds": s.seconds} for s in self.storyboard] or None,
        }
        # Present only when set, so adding them left every other scene's key (and cached render) as it was.
        if self.link in ("continue_from", "extend_of"):
            out[self.link] = self.upstream_key
        return {**out, **self._options()}

    def _options(self) -> dict[str, object]:
        """The fields added after key version 1, each only when set (older keys stay byte for byte)."""
        out: dict[str, object] = {}
        if self.private is not None:
            out["private"] = self.private
        if self.aspect_ratio is not None:
            out["aspect_ratio"] = self.aspect_ratio
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    def shot_requests(self) -> tuple[Request, ...]:
        """One request per storyboard shot, for kinds that render shot by shot; the first starts from the image
        or the continued scene, so editing one shot changes only that shot's key."""
        out = []
        for index, shot in enumerate(self.storyboard):
            continued = index == 0 and self.link == "continue_from"
            out.append(
                Request(
                    kind=self.kind,
                    model=self.model,
                    prompt=shot.prompt,
                    size=self.size,
                    seconds=shot.seconds,
                    take=self.take,
                    image=self.image if index == 0 else None,
                    link="continue_from" if continued else None,
                    upstream_key=self.upstream_key if continued else None,
                    shot=True,
                    private=self.private,
                    aspect_ratio=self.aspect_ratio,
                    extra=self.extra,
                )
            )
        return tuple(out)

    def _core(self, image: dict[str, object] | None) -> dict[str, object]:
        return {
            "key_version": KEY_VERSION,
            "kind": self.kind,
            "model": self.model,
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "take": self.take,
            "image": image,
        }

    @functools.cached_property
    def key(self) -> str:
        """The render key: sha256 of the identity's canonical JSON (computed once)."""
        return render_key(self.identity())


def render_key(identity: Mapping[str, object]) -> str:
    """sha256 hex digest of a request identity's RFC 8785 canonical JSON."""
    return hashlib.sha256(canonical_json(identity)).hexdigest()


def canonical_json(value: Mapping[str, object]) -> bytes:
    """RFC 8785 canonical JSON of ``value``.

    For what requests hold (text, integers strictly within +-2**53, booleans, null, lists and objects with ASCII keys)
    ``json.dumps`` with sorted keys writes the same bytes several times faster; anything else, such as a
    float, goes through rfc8785.
    """
    if _plain(value):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 decide
    return _rfc8785(value)


def _rfc8785(value: Any) -> bytes:
    # Imported on first need: a request of plain values (almost every one) never needs it.
    import rfc8785

    data: bytes = rfc8785.dumps(value)
    return data


def _plain(value: object) -> bool:
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**53) < value < 2**53  # rfc8785's domain: it refuses 2**53 itself
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    return False
