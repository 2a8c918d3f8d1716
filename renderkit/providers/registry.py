"""Provider kinds by name, and where each one's API key comes from."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from renderkit.errors import InputError, MissingKeyError
from renderkit.providers.adapter import HttpProvider
from renderkit.providers.base import Provider
from renderkit.providers.generations import GenerationsProvider
from renderkit.providers.openai import OpenAIProvider, SimulatorProvider
from renderkit.providers.unified import UnifiedProvider

ADAPTERS: dict[str, type[HttpProvider]] = {
    "generations": GenerationsProvider,
    "openai": OpenAIProvider,
    "simulator": SimulatorProvider,
    "unified": UnifiedProvider,
}
KINDS = tuple(sorted(ADAPTERS))
# Not a secret: the simulator accepts any non-empty bearer key unless it was started with --api-key.
SIMULATOR_TOKEN = "renderkit-simulator"


def _adapter(kind: str) -> type[HttpProvider]:
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise InputError(f"unknown provider kind {kind!r}; use one of {', '.join(KINDS)}") from None


def default_key_env(kind: str) -> str | None:
    """The environment variable a kind reads its key from when the manifest names none."""
    return _adapter(kind).default_key_env


def api_key_for(name: str, kind: str, api_key_env: str | None, environ: Mapping[str, str]) -> str:
    """Read provider ``name``'s key from ``environ``; raise ``MissingKeyError`` before any request is sent."""
    env_var = api_key_env or default_key_env(kind)
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
) -> Provider:
    """An adapter for ``kind`` on ``base_url``; ``client`` stays the caller's to close."""
    return _adapter(kind)(base_url, api_key, client, provider_name=name, key_env=api_key_env)
