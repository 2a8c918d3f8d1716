"""Provider kinds: one row per wire family, with its defaults and what it can send. Everything reads this table.

A new kind is a row here, an adapter module named by the row, and its routes in the simulator; a test checks
that the table, the adapters and the manifest schema agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Capability = Literal["remix", "extend", "storyboard", "image_file", "image_url", "list"]

# What each capability lets a scene do, for messages: "cannot <verb>".
_VERBS: Mapping[Capability, str] = {
    "remix": "remix",
    "extend": "extend a video",
    "storyboard": "take a storyboard",
    "image_file": "upload a local image",
    "image_url": "take an image URL",
    "list": "list tasks",
}


@dataclass(frozen=True)
class Kind:
    """One wire family: where it lives by default, where its key comes from, and what it can send."""

    name: str
    routes: str  # the routes it speaks, for messages and docs
    adapter: str  # "module:Class" of its provider adapter
    base_url: str | None  # default server; None for the simulator, which then runs embedded
    key_env: str | None  # default variable holding the API key; None: no key needed
    base_url_env: str | None  # a variable naming the server when the manifest gives no base_url
    remix: bool  # remix_of: a route that remakes a finished task with a new prompt
    extend: bool  # extend_of: a route that continues a finished video
    storyboard: bool  # a native storyboard field (otherwise shots render one by one and are stitched)
    image_file: bool  # a local reference image uploaded with the create
    image_url: bool  # a reference image given as an https URL
    list: bool  # a list route, to find a create whose answer was lost

    def can(self, capability: Capability) -> bool:
        """Whether this kind can send ``capability``."""
        return bool(getattr(self, capability))


KINDS: dict[str, Kind] = {
    "openai": Kind(
        name="openai",
        routes="POST /v1/videos, GET /v1/videos/{id}, /content, /remix, /extensions",
        adapter="renderkit.providers.openai:OpenAIProvider",
        base_url="https://api.openai.com",
        key_env="OPENAI_API_KEY",
        base_url_env="OPENAI_BASE_URL",  # as the openai SDK reads it: a gateway key in OPENAI_API_KEY goes there
        remix=True,
        extend=True,
        storyboard=True,  # Crazyrouter documents storyboard on /v1/videos and forwards it
        image_file=True,  # input_reference as a multipart file part
        image_url=True,  # image_url
        list=True,
    ),
    "generations": Kind(
        name="generations",
        routes="POST /v1/video/generations, GET /v1/video/generations/{task_id}",
        adapter="renderkit.providers.generations:GenerationsProvider",
        base_url="https://api.crazyrouter.com",
        key_env="CRAZYROUTER_API_KEY",
        base_url_env=None,
        remix=False,
        extend=False,
        storyboard=True,  # the gateway forwards the JSON body verbatim
        image_file=True,
        image_url=True,
        list=False,
    ),
    "unified": Kind(
        name="unified",
        routes="POST /v1/video/create, GET /v1/video/query",
        adapter="renderkit.providers.unified:UnifiedProvider",
        base_url="https://api.crazyrouter.com",
        key_env="CRAZYROUTER_API_KEY",
        base_url_env=None,
        remix=False,
        extend=False,
        storyboard=False,  # no storyboard field is documented
        image_file=False,  # images is a list of URLs only
        image_url=True,
        list=False,
    ),
    "simulator": Kind(
        name="simulator",
        routes="the openai routes, on renderkit's simulator (embedded when there is no base_url)",
        adapter="renderkit.providers.openai:OpenAIProvider",
        base_url=None,
        key_env=None,
        base_url_env=None,
        remix=True,
        extend=True,
        storyboard=True,
        image_file=True,
        image_url=True,
        list=True,
    ),
}


def kinds_that(capability: Capability) -> tuple[str, ...]:
    """The kinds that can send ``capability``, in table order."""
    return tuple(name for name, kind in KINDS.items() if kind.can(capability))


def cannot(kind: str, provider: str, capability: Capability) -> str:
    """``provider 'x' (kind k) cannot VERB; use a provider of kind A or B``: the fix names the kinds that can."""
    able = list(kinds_that(capability))
    fix = able[0] if len(able) == 1 else ", ".join(able[:-1]) + " or " + able[-1]
    return f"provider {provider!r} (kind {kind}) cannot {_VERBS[capability]}; use a provider of kind {fix}"
