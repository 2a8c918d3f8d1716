"""The kinds table, the adapters and the manifest schema agree: a kind's row is the one truth about it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import httpx
import pytest

from renderkit.catalog.kinds import KINDS, Capability, kinds_that
from renderkit.catalog.models import catalog
from renderkit.errors import ProviderError
from renderkit.providers.adapter import HttpProvider
from renderkit.providers.base import CreateRequest, ImageInput
from renderkit.providers.registry import adapter_class, open_provider
from renderkit.request import Shot
from tests.providers.requests import create

SCHEMA = Path(__file__).parents[2] / "schemas" / "manifest.v1.schema.json"
QUEUED = {"id": "task_1", "status": "queued"}
PLAIN = ("sora-2", "p", "1280x720", 4)
# One request per capability, needing that capability and nothing else.
NEEDS: dict[Capability, CreateRequest] = {
    "remix": create(*PLAIN, remix_of="task_0"),
    "extend": create(*PLAIN, extend_of="task_0"),
    "storyboard": create(*PLAIN, storyboard=(Shot("a", 2), Shot("b", 2))),
    "image_file": create(*PLAIN, image=ImageInput(data=b"\x89PNG")),
    "image_url": create(*PLAIN, image=ImageInput(url="https://img.example/a.png")),
}


def test_the_schema_lists_exactly_the_kinds_of_the_table() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$defs"]["provider"]["properties"]["kind"]["enum"] == list(KINDS)


def test_every_row_names_its_adapter_and_every_model_a_known_kind() -> None:
    for name, kind in KINDS.items():
        assert kind.name == name
        assert issubclass(adapter_class(kind), HttpProvider)
    for model in catalog().models.values():
        assert model.kinds <= set(KINDS), model.name
    assert set(NEEDS) | {"list"} == set(get_args(Capability))


@pytest.fixture
async def client() -> AsyncIterator[tuple[list[httpx.Request], httpx.AsyncClient]]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"object": "list", "data": []} if request.method == "GET" else QUEUED)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as c:
        yield sent, c


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("capability", sorted(NEEDS))
async def test_an_adapter_sends_exactly_what_its_row_allows(client, kind: str, capability: Capability) -> None:
    sent, http = client
    adapter = open_provider(kind, base_url="https://gw.example", api_key="k", client=http, name="gw")
    if KINDS[kind].can(capability):
        assert (await adapter.create(NEEDS[capability])).task_id == "task_1"
        assert len(sent) == 1
    else:
        with pytest.raises(ProviderError, match="cannot") as info:
            await adapter.create(NEEDS[capability])
        assert info.value.code == "unsupported"
        assert sent == []
        assert all(k in str(info.value) for k in kinds_that(capability))


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_only_kinds_with_a_list_route_list(client, kind: str) -> None:
    sent, http = client
    adapter = open_provider(kind, base_url="https://gw.example", api_key="k", client=http, name="gw")
    if KINDS[kind].list:
        assert await adapter.list_tasks(0) == []
    else:
        with pytest.raises(ProviderError, match="cannot list"):
            await adapter.list_tasks(0)
        assert sent == []
