"""Render keys: the sha256 of a scene's normalized request in RFC 8785 canonical JSON.

The request holds everything that changes the rendered video and nothing else: provider kind, model, prompt,
size, seconds, take, the input image's content hash (or URL), the upstream scene's key (under the field that
names it: remix_of, continue_from or extend_of) and the storyboard. Base URLs, API keys, provider names,
output paths, scene order and YAML formatting stay out of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from renderkit.manifest.model import Scene

# Bump when the request's shape or meaning changes: every key changes with it, so old renders are not reused.
KEY_VERSION = 1


def image_identity(scene: Scene) -> dict[str, object] | None:
    """What identifies the scene's input image in a request: its URL, or its file's content hash."""
    if scene.image is None:
        return None
    return {"url": scene.image.url} if scene.image.url is not None else {"sha256": scene.image.sha256}


def scene_request(scene: Scene, kind: str, upstream_key: str | None) -> dict[str, object]:
    """The normalized request of ``scene`` rendered by a provider of ``kind``; ``upstream_key`` is its upstream's."""
    image = image_identity(scene)
    request: dict[str, object] = {
        "key_version": KEY_VERSION,
        "kind": kind,
        "model": scene.model,
        "prompt": scene.prompt,
        "size": scene.size,
        "seconds": scene.seconds,
        "take": scene.take,
        "image": image,
        "remix_of": upstream_key if scene.remix_of is not None else None,
        "storyboard": [{"prompt": s.prompt, "seconds": s.seconds} for s in scene.storyboard] or None,
    }
    # Present only when set, so adding them left every other scene's key (and cached render) as it was.
    if scene.continue_from is not None:
        request["continue_from"] = upstream_key
    if scene.extend_of is not None:
        request["extend_of"] = upstream_key
    return request


def render_key(request: Mapping[str, object]) -> str:
    """sha256 hex digest of the request's RFC 8785 canonical JSON."""
    return hashlib.sha256(canonical_json(request)).hexdigest()


def canonical_json(value: Mapping[str, object]) -> bytes:
    """RFC 8785 canonical JSON of ``value``.

    For what requests hold (text, integers within +-2**53, booleans, null, lists and objects with ASCII keys)
    ``json.dumps`` with sorted keys writes the same bytes several times faster; anything else, such as a
    float, goes through rfc8785.
    """
    if _plain(value):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 decide
    # rfc8785 types its input as nested JSON values; a request is one, but Mapping[str, object] cannot say so.
    obj: Any = value
    return rfc8785.dumps(obj)


def _plain(value: object) -> bool:
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**53) <= value <= 2**53
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    return False
