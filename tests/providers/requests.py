"""Build a provider's CreateRequest the way the executor does, from a render request and what it is made from."""

from __future__ import annotations

from renderkit.providers.base import CreateRequest, ImageInput
from renderkit.request import Link, Request, Shot


def create(
    model: str,
    prompt: str,
    size: str,
    seconds: int,
    *,
    image: ImageInput | None = None,
    remix_of: str | None = None,
    extend_of: str | None = None,
    storyboard: tuple[Shot, ...] = (),
) -> CreateRequest:
    """A create; ``remix_of`` and ``extend_of`` name the source task, as the executor fills them in."""
    link: Link | None = "remix_of" if remix_of else "extend_of" if extend_of else None
    render = Request("openai", model, prompt, size, seconds, storyboard=storyboard, link=link)
    return CreateRequest(render, image=image, source_task=remix_of or extend_of)
