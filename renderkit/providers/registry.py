"""Provider adapters by kind, and where each one's API key comes from."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import httpx

from renderkit.catalog.kinds import KINDS, Kind
from renderkit.errors import InputError, MissingKeyError
from renderkit.providers.adapter import HttpProvider
from renderkit.providers.base import Provider
from renderkit.providers.http import Limits
from renderkit.providers.scrub import Scrubbed

# Not a secret: the simulator accepts any non-empty bearer key unless it was started with --api-key.
SIMULATOR_TOKEN = "renderkit-simulator"


def kind_of(name: str) -> Kind:
    """The kinds-table row for ``name``; InputError naming the known kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise InputError(f"unknown provider kind {name!r}; use one of {', '.join(sorted(KINDS))}") from None


def adapter_class(kind: Kind) -> type[HttpProvider]:
    """The adapter class the kinds table names for ``kind``."""
    module, _, name = kind.adapter.partition(":")
    cls: type[HttpProvider] = getattr(importlib.import_module(module), name)
    return cls


def api_key_for(name: str, kind: str, api_key_env: str | None, environ: Mapping[str, str]) -> str:
    """Read provider ``name``'s key from ``environ``; raise ``MissingKeyError`` before any request is sent."""
    env_var = api_key_env or kind_of(kind).key_env
    if env_var is None:
        return SIMULATOR_TOKEN
    key = environ.get(env_var, "").strip()
    if not key:
        raise MissingKeyError(name, env_var)
    return key


def open_provider(
    kind: str,
    *,
    base_url: str,
    api_key: str,
    client: httpx.AsyncClient,
    name: str,
    api_key_env: str | None = None,
    limits: Limits | None = None,
) -> Provider:
    """An adapter for ``kind`` on ``base_url`` whose answers never carry the key; ``client`` stays the caller's."""
    row = kind_of(kind)
    adapter = adapter_class(row)(row, base_url, api_key, client, provider_name=name, key_env=api_key_env, limits=limits)
    return Scrubbed(adapter, api_key)
