"""What each adapter puts on the wire, and what it refuses to send.

These use ``httpx.MockTransport`` because only a captured request shows the exact encoding (``seconds`` as a
string, the multipart part name, both query parameters); the simulator accepts several encodings.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from renderkit.catalog.kinds import KINDS
from renderkit.errors import InputError, MissingKeyError, ProviderError
from renderkit.providers.base import ImageInput, Provider
from renderkit.providers.registry import SIMULATOR_TOKEN, api_key_for, open_provider
from renderkit.request import Shot
from tests.providers.requests import create

KEY = "sk-adapter-secret-42"
BASE = "https://gw.example"
QUEUED = {"id": "task_1", "task_id": "task_1", "status": "queued", "progress": 0}


class Recorder:
    """A mock server that records every request and answers with ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda _: httpx.Response(200, json=QUEUED))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, httpx.AsyncClient]]:
    rec = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(rec)) as client:
        yield rec, client


def provider(kind: str, client: httpx.AsyncClient, base: str = BASE) -> Provider:
    return open_provider(kind, base_url=base, api_key=KEY, client=client, name="gw")


def json_of(request: httpx.Request) -> dict[str, Any]:
    body = json.loads(request.content)
    assert isinstance(body, dict)
    return body


REQUEST = create(model="sora-2", prompt="a paper boat", size="1280x720", seconds=8)


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "path"), [("openai", "/v1/videos"), ("generations", "/v1/video/generations")])
async def test_create_sends_seconds_as_a_string_and_duration_as_an_integer(recorder, kind: str, path: str) -> None:
    rec, client = recorder
    state = await provider(kind, client).create(REQUEST)
    sent = rec.requests[0]
    assert (sent.method, sent.url.path) == ("POST", path)
    body = {"model": "sora-2", "prompt": "a paper boat", "seconds": "8", "duration": 8, "size": "1280x720"}
    assert json_of(sent) == body
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert (state.task_id, state.status) == ("task_1", "queued")


@pytest.mark.anyio
@pytest.mark.parametrize("base", [BASE, BASE + "/", BASE + "/v1", BASE + "/v1/"])
async def test_base_url_with_or_without_v1(recorder, base: str) -> None:
    rec, client = recorder
    await provider("openai", client, base).poll("task_1")
    assert str(rec.requests[0].url) == "https://gw.example/v1/videos/task_1"


@pytest.mark.anyio
async def test_unified_create_sends_duration_int_and_aspect_ratio(recorder) -> None:
    rec, client = recorder
    image = ImageInput(url="https://img.example/ref.png")
    await provider("unified", client).create(
        create(model="veo-3.1-fast", prompt="p", size="720x1280", seconds=8, image=image)
    )
    sent = rec.requests[0]
    assert sent.url.path == "/v1/video/create"
    assert json_of(sent) == {
        "model": "veo-3.1-fast",
        "prompt": "p",
        "duration": 8,
        "size": "720x1280",
        "aspect_ratio": "9:16",
        "images": ["https://img.example/ref.png"],
    }


@pytest.mark.anyio
async def test_unified_poll_sends_both_id_parameters(recorder) -> None:
    rec, client = recorder
    await provider("unified", client).poll("veo:task 1")
    sent = rec.requests[0]
    assert sent.url.path == "/v1/video/query"
    assert dict(sent.url.params) == {"id": "veo:task 1", "task_id": "veo:task 1"}


@pytest.mark.anyio
async def test_poll_escapes_the_task_id(recorder) -> None:
    rec, client = recorder
    await provider("generations", client).poll("a/b?c")
    assert rec.requests[0].url.raw_path == b"/v1/video/generations/a%2Fb%3Fc"


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai", "simulator", "generations"])
async def test_local_image_goes_as_multipart_input_reference(recorder, kind: str) -> None:
    rec, client = recorder
    image = ImageInput(data=b"\x89PNG-bytes", mime="image/png", filename="ref.png")
    await provider(kind, client).create(create(model="sora-2", prompt="p", size="1280x720", seconds=4, image=image))
    sent = rec.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = sent.content
    assert b'name="input_reference"; filename="ref.png"' in body
    assert b"\x89PNG-bytes" in body
    assert b'name="seconds"\r\n\r\n4\r\n' in body


@pytest.mark.anyio
async def test_openai_image_url_and_storyboard_are_native_fields(recorder) -> None:
    rec, client = recorder
    await provider("openai", client).create(
        create(
            model="sora-2",
            prompt="forest",
            size="1280x720",
            seconds=8,
            image=ImageInput(url="https://img.example/a.png"),
            storyboard=(Shot("dawn", 4), Shot("deer", 4)),
        )
    )
    body = json_of(rec.requests[0])
    assert body["image_url"] == "https://img.example/a.png"
    assert body["storyboard"] == [{"prompt": "dawn", "duration": 4}, {"prompt": "deer", "duration": 4}]


DERIVED = [
    (
        create(model="sora-2", prompt="now at night", size="1280x720", seconds=8, remix_of="video_9"),
        "/v1/videos/video_9/remix",
        {"prompt": "now at night"},
    ),
    (
        create(model="sora-2", prompt="and on", size="1280x720", seconds=4, extend_of="video_9"),
        "/v1/videos/extensions",
        {"prompt": "and on", "seconds": "4", "video": {"id": "video_9"}},
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("request_", "path", "body"), DERIVED, ids=["remix", "extend"])
async def test_openai_remix_and_extend_post_json_naming_the_source(recorder, request_, path, body) -> None:
    rec, client = recorder
    await provider("openai", client).create(request_)
    sent = rec.requests[0]
    assert sent.url.path == path
    assert json_of(sent) == body


REFUSED = [
    ("generations", create(model="m", prompt="p", size="1280x720", seconds=4, remix_of="t")),
    ("generations", create(model="m", prompt="p", size="1280x720", seconds=4, extend_of="t")),
    ("unified", create(model="m", prompt="p", size="1280x720", seconds=4, extend_of="t")),
    ("unified", create(model="m", prompt="p", size="1280x720", seconds=4, remix_of="t")),
    ("unified", create(model="m", prompt="p", size="1280x720", seconds=4, storyboard=(Shot("a", 4),))),
    ("unified", create(model="m", prompt="p", size="1280x720", seconds=4, image=ImageInput(data=b"x"))),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "request_"), REFUSED)
async def test_what_a_family_cannot_carry_is_refused_before_sending(recorder, kind: str, request_) -> None:
    rec, client = recorder
    with pytest.raises(ProviderError, match="cannot") as info:
        await provider(kind, client).create(request_)
    assert rec.requests == []
    assert not info.value.maybe_sent
    assert info.value.code == "unsupported"


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["generations", "unified"])
async def test_families_without_list_refuse_it(recorder, kind: str) -> None:
    rec, client = recorder
    p = provider(kind, client)
    with pytest.raises(ProviderError, match="cannot list"):
        await p.list_tasks(0)
    assert rec.requests == []


@pytest.mark.anyio
async def test_list_pages_until_tasks_are_older_than_since() -> None:
    pages = {
        None: {
            "data": [
                {"id": "v3", "status": "queued", "created_at": 300},
                {"id": "v2", "status": "completed", "created_at": 200},
            ],
            "has_more": True,
            "last_id": "v2",
        },
        "v2": {
            "data": [
                {"id": "v1", "status": "failed", "created_at": 150},
                {"id": "v0", "status": "completed", "created_at": 50},
            ],
            "has_more": True,
            "last_id": "v0",
        },
    }
    rec = Recorder(lambda r: httpx.Response(200, json=pages[r.url.params.get("after")]))
    async with httpx.AsyncClient(transport=httpx.MockTransport(rec)) as client:
        found = await provider("openai", client).list_tasks(100)
    assert [s.task_id for s in found] == ["v3", "v2", "v1"]
    assert dict(rec.requests[0].url.params) == {"order": "desc", "limit": "100"}
    assert rec.requests[1].url.params["after"] == "v2"
    assert len(rec.requests) == 2


@pytest.mark.anyio
async def test_list_stops_on_a_cursor_that_does_not_move() -> None:
    page = {"data": [{"id": "v3", "status": "queued", "created_at": 300}], "has_more": True, "last_id": "v3"}
    rec = Recorder(lambda _: httpx.Response(200, json=page))
    async with httpx.AsyncClient(transport=httpx.MockTransport(rec)) as client:
        found = await provider("openai", client).list_tasks(0)
    assert len(rec.requests) == 2
    assert [s.task_id for s in found] == ["v3", "v3"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>ok</html>"),
        httpx.Response(200, json={"status": "queued"}),
        httpx.Response(200, json={"code": "do_request_failed", "message": "boom", "data": None}),
    ],
)
async def test_an_unusable_create_answer_counts_as_maybe_paid(answer: httpx.Response) -> None:
    # A 2xx the simulator never sends: the create went through but its task id cannot be read.
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answer)) as client:
        with pytest.raises(ProviderError) as info:
            await provider("openai", client).create(REQUEST)
    assert info.value.maybe_sent
    assert not info.value.retryable


@pytest.mark.anyio
async def test_create_answer_with_an_unknown_status_still_returns_the_task() -> None:
    answer = httpx.Response(200, json={"id": "t9", "status": "moderating"}, headers={"openai-poll-after-ms": "2000"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answer)) as client:
        state = await provider("openai", client).create(REQUEST)
    assert (state.task_id, state.status, state.raw_status, state.poll_after) == ("t9", "queued", "moderating", 2.0)


@pytest.mark.anyio
async def test_poll_with_an_unknown_status_raises() -> None:
    answer = httpx.Response(200, json={"id": "t9", "status": "moderating"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answer)) as client:
        with pytest.raises(ProviderError, match="'moderating'"):
            await provider("openai", client).poll("t9")


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_repr_hides_the_key(recorder, kind: str) -> None:
    _, client = recorder
    p = provider(kind, client)
    assert KEY not in repr(p)
    assert "gw.example" in repr(p)
    assert p.kind == kind


def test_api_key_defaults_by_kind() -> None:
    environ = {"OPENAI_API_KEY": "sk-o", "CRAZYROUTER_API_KEY": "sk-c", "MY_KEY": " sk-m "}
    assert api_key_for("a", "openai", None, environ) == "sk-o"
    assert api_key_for("b", "generations", None, environ) == "sk-c"
    assert api_key_for("c", "unified", None, environ) == "sk-c"
    assert api_key_for("d", "unified", "MY_KEY", environ) == "sk-m"
    assert api_key_for("sim", "simulator", None, {}) == SIMULATOR_TOKEN
    assert api_key_for("sim", "simulator", "MY_KEY", environ) == "sk-m"


@pytest.mark.parametrize(("kind", "env"), [("openai", None), ("unified", None), ("simulator", "SIM_KEY")])
def test_missing_key_names_the_variable(kind: str, env: str | None) -> None:
    with pytest.raises(MissingKeyError, match=env or "API_KEY") as info:
        api_key_for("prod", kind, env, {"SIM_KEY": "  "})
    assert info.value.provider == "prod"


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="generations, openai, simulator, unified"):
        api_key_for("x", "runway", None, {})
