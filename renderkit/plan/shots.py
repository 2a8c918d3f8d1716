"""Storyboards on families without a native storyboard: one cached render per shot, stitched into one MP4.

Each shot has its own render key, a function of that shot alone (plus the scene's model, size, take and, for
the first shot, its image or the key of the scene it continues from), so editing one shot re-renders only that
shot.
"""

from __future__ import annotations

from renderkit.catalog.kinds import KINDS
from renderkit.manifest.model import Scene, Shot
from renderkit.plan.keys import KEY_VERSION, image_identity, render_key


def emulated(scene: Scene, kind: str) -> bool:
    """Whether this scene's storyboard is rendered shot by shot and stitched (the kind takes no native one)."""
    return bool(scene.storyboard) and not KINDS[kind].storyboard


def shot_request(scene: Scene, shot: Shot, index: int, kind: str, upstream_key: str | None) -> dict[str, object]:
    """The normalized request of one shot rendered on its own; the first starts from the continued scene."""
    image: dict[str, object] | None = None
    if index == 0 and scene.image is not None:
        image = image_identity(scene)
    elif index == 0 and scene.continue_from is not None:
        image = {"last_frame_of": upstream_key}
    return {
        "key_version": KEY_VERSION,
        "kind": kind,
        "model": scene.model,
        "prompt": shot.prompt,
        "size": scene.size,
        "seconds": shot.seconds,
        "take": scene.take,
        "image": image,
        "shot": True,
    }


def shot_keys(scene: Scene, kind: str, upstream_key: str | None) -> list[tuple[str, dict[str, object]]]:
    """(key, request) of every shot, in order; ``upstream_key`` is the key of the scene it continues from."""
    out = []
    for i, shot in enumerate(scene.storyboard):
        request = shot_request(scene, shot, i, kind, upstream_key)
        out.append((render_key(request), request))
    return out
