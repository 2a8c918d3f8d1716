"""Hypothesis against the provider's answers: each response parser may only return or raise ProviderError,
whatever JSON-like value a provider sends, and the header readers only return None or a wait of at least 0."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from renderkit.catalog.kinds import KINDS
from renderkit.errors import ProviderError
from renderkit.providers.http import Wire, poll_after, retry_after
from renderkit.providers.openai import OpenAIProvider
from renderkit.providers.parse import (
    error_details,
    error_details_from_bytes,
    normalise_status,
    parse_progress,
    parse_task,
    unwrap,
)

T = TypeVar("T")
FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(call: Callable[[], T], allowed: type[Exception]) -> tuple[T | None, Exception | None]:
    """``call()``'s value, or the ``allowed`` error it raised (any other exception fails the test)."""
    try:
        return call(), None
    except allowed as exc:
        return None, exc


# -- the provider's answers ----------------------------------------------------------------------------------------

STATUS_WORDS = [
    "queued", "QUEUED", "not_start", "NOT_START", "submitted", "pending", "unknown", "in_progress", "IN PROGRESS",
    "processing", "running", "video-generating", "success", "SUCCESS", "succeeded", "completed", "failure",
    "failed", "FAILED", "cancelled", "error", "", " ", "done?", "完成",
]  # fmt: skip
ANSWER_FIELDS = [
    "id", "task_id", "status", "progress", "data", "code", "message", "error", "fail_reason", "detail", "type",
    "url", "result_url", "video_url", "artifact_url", "metadata", "video", "expires_at", "created_at", "model",
    "prompt", "size", "seconds", "remixed_from_video_id", "thumbnail_url", "object", "has_more", "last_id",
]  # fmt: skip
answer_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([*STATUS_WORDS, "50%", "NaN%", "inf", "-1e400%", "1e400", "fail_to_fetch_task", "success"]),
    st.sampled_from(["https://cdn.example/v.mp4", "http://x", "video_1", "task_1", "12", "", "{}", "[]"]),
    st.text(max_size=10),
)
answer_keys = st.one_of(st.sampled_from(ANSWER_FIELDS), st.text(max_size=5))
answers = st.recursive(
    answer_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(answer_keys, inner, max_size=6),
    max_leaves=12,
)
bodies = st.dictionaries(answer_keys, answers, max_size=8)


@st.composite
def shaped_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A task object, an envelope around one, or the gateway's relayed upstream error, with fields of any type."""
    task = draw(bodies)
    task.update(draw(st.fixed_dictionaries({}, optional=dict.fromkeys(("id", "status", "progress"), answers))))
    shape = draw(st.sampled_from(["bare", "envelope", "nested", "relayed"]))
    if shape == "bare":
        return task
    if shape == "envelope":
        return {"code": draw(st.sampled_from(["success", "SUCCESS", "error", ""]) | answer_scalars), "data": task}
    if shape == "nested":
        return {**task, "data": draw(bodies)}
    upstream = json.dumps(draw(answers), default=str)
    for _ in range(draw(st.integers(0, 4))):
        upstream = json.dumps({"code": "fail_to_fetch_task", "message": upstream})
    return {"code": "fail_to_fetch_task", "message": upstream}


def deep_json(depth: int, kind: str) -> bytes:
    opener, closer = {"list": ("[", "]"), "object": ('{"error":', "}")}[kind]
    return (opener * depth + "1" + closer * depth).encode()


raw_answers = st.one_of(
    st.binary(max_size=300),
    answers.map(lambda v: json.dumps(v, default=str).encode()),
    shaped_bodies().map(lambda v: json.dumps(v, default=str).encode()),
    st.builds(deep_json, st.integers(1, 20_000), st.sampled_from(["list", "object"])),
)


@FAST
@given(body=bodies | shaped_bodies(), poll=st.none() | st.floats(), created=st.booleans())
def test_parse_task_reads_any_body_or_raises_provider_error(
    body: dict[str, Any], poll: float | None, created: bool
) -> None:
    state, refused = outcome(lambda: parse_task(body, poll_after=poll, created=created), ProviderError)
    if state is None:
        assert str(refused)
        return
    assert isinstance(state.task_id, str)
    assert state.task_id
    assert state.status in ("queued", "running", "completed", "failed")
    assert state.progress is None or 0 <= state.progress <= 100


@FAST
@given(body=answers | shaped_bodies())
def test_error_details_of_any_value(body: object) -> None:
    message, code = error_details(body)
    assert isinstance(message, str)
    assert message
    assert code is None or isinstance(code, str)


@FAST
@given(content=raw_answers)
@example(content=deep_json(5_000, "list"))
@example(content=deep_json(5_000, "object"))
def test_error_details_of_any_bytes(content: bytes) -> None:
    message, code = error_details_from_bytes(content)
    assert isinstance(message, str)
    assert message
    assert code is None or isinstance(code, str)


@FEW
@given(depth=st.integers(1, 20_000), status=st.sampled_from([200, 500]), kind=st.sampled_from(["list", "object"]))
@example(depth=5_000, status=200, kind="list")
@example(depth=5_000, status=500, kind="object")
def test_a_deeply_nested_answer_is_unreadable_not_a_crash(depth: int, status: int, kind: str) -> None:
    # A nested list is never a task object; a nested object is one only when it parses (a shallow one).
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=deep_json(depth, kind))

    async def poll() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            wire = Wire("http://provider.test", "sk-fuzz-0123456789", client, provider="p", key_env="P_KEY")
            await wire.call("GET", "/v1/videos/v1", op="read")

    # Read, unreadable (a read: retryable) or an error status said in words; never a RecursionError.
    _, refused = outcome(lambda: anyio.run(poll), ProviderError)
    if status == 500 or kind == "list":
        assert refused is not None
        assert f"HTTP {status}" in str(refused)


pages = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(shaped_bodies() | answers, max_size=3) | answers,
        "has_more": answers,
        "last_id": answers,
        "first_id": answers,
    },
)


@FEW
@given(answer_pages=st.lists(pages, min_size=1, max_size=4), since=st.integers(-1, 2**40))
@example(answer_pages=[{"data": [1, "x"], "has_more": True}], since=0)
def test_list_tasks_reads_any_pages_or_raises_provider_error(answer_pages: list[dict[str, Any]], since: int) -> None:
    # The list route is read to find a lost create: it may page through anything but must end, one way or another.
    served = iter(answer_pages)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(next(served, {}), default=str).encode())

    async def listed() -> list[object]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            provider = OpenAIProvider(KINDS["openai"], "http://provider.test", "sk-fuzz-0123456789", client)
            return list(await provider.list_tasks(since))

    found, refused = outcome(lambda: anyio.run(listed), ProviderError)
    assert found is not None or str(refused)


@FAST
@given(value=answers)
@example(value=float("nan"))
@example(value=float("inf"))
@example(value="inf%")
@example(value="NaN%")
def test_parse_progress_is_a_percentage_or_none(value: object) -> None:
    progress = parse_progress(value)
    assert progress is None or (isinstance(progress, int) and 0 <= progress <= 100)


@FAST
@given(word=st.sampled_from(STATUS_WORDS) | st.text(max_size=12))
def test_normalise_status_knows_the_word_or_says_so(word: str) -> None:
    status, refused = outcome(lambda: normalise_status(word), ProviderError)
    if status is None:
        assert isinstance(refused, ProviderError)
        assert refused.code == "unknown_status"
    else:
        assert status in ("queued", "running", "completed", "failed")


@FAST
@given(body=bodies | shaped_bodies())
def test_unwrap_finds_the_task_or_raises_provider_error(body: dict[str, Any]) -> None:
    parts, refused = outcome(lambda: unwrap(body), ProviderError)
    if parts is None:
        assert str(refused)
        return
    assert all(isinstance(part, dict) for part in parts)


def http_date(when: dt.datetime, zone: int) -> str:
    return email.utils.format_datetime(when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=zone))))


header_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1e400", "-1e400", "nan", "inf", "-0", "0x10", "1_000", " 2 ", "", "Thu, 01 Jan 1970", "GMT"]),
    st.builds(
        http_date,
        st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
        st.integers(-1439, 1439),
    ),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n\0"), max_size=40),
)
header_sets = st.dictionaries(
    st.sampled_from(["retry-after", "retry-after-ms", "openai-poll-after-ms", "x-other"]), header_values, max_size=4
)


def headers_of(values: dict[str, str]) -> httpx.Headers:
    # As a response carries them: bytes, decoded by httpx however it decodes them.
    return httpx.Headers([(name.encode(), value.encode("latin-1")) for name, value in values.items()])


@FAST
@given(values=header_sets, now=st.none() | st.floats(min_value=0, max_value=1e11))
@example(values={"retry-after": "Fri, 31 Dec 9999 23:59:59 -2359"}, now=None)
def test_retry_after_is_a_wait_or_none(values: dict[str, str], now: float | None) -> None:
    wait = retry_after(headers_of(values), now)
    assert wait is None or (isinstance(wait, float) and wait >= 0.0)


@FAST
@given(values=header_sets)
def test_poll_after_is_a_wait_or_none(values: dict[str, str]) -> None:
    wait = poll_after(headers_of(values))
    assert wait is None or (isinstance(wait, float) and wait >= 0.0 and not math.isnan(wait))
