"""The HTTP boundary: header parsing and the mapping of failures into ProviderError."""

from __future__ import annotations

import json
import ssl
import threading
from email.utils import formatdate

import httpx
import pytest

from renderkit.errors import ProviderError
from renderkit.providers import tls
from renderkit.providers.http import (
    BearerAuth,
    Op,
    Wire,
    normalise_base_url,
    poll_after,
    redact,
    retry_after,
    same_origin,
)
from renderkit.providers.tls import tls_context

KEY = "sk-test-0123456789abcdef"


def wire(client: httpx.AsyncClient | None = None) -> Wire:
    return Wire(
        "http://127.0.0.1:9/v1/",
        KEY,
        client or httpx.AsyncClient(verify=tls_context()),
        provider="gw",
        key_env="CRAZYROUTER_API_KEY",
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "whenever"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after(httpx.Headers(headers)) == expected


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    headers = httpx.Headers({"retry-after": formatdate(now + 30, usegmt=True)})
    assert retry_after(headers, now=now) == pytest.approx(30.0)
    assert retry_after(headers, now=now + 60) == 0.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"openai-poll-after-ms": "1500"}, 1.5), ({"openai-poll-after-ms": "x"}, None), ({}, None)],
)
def test_poll_after(headers: dict[str, str], expected: float | None) -> None:
    assert poll_after(httpx.Headers(headers)) == expected


@pytest.mark.parametrize(
    "base",
    [
        "https://api.example.com",
        "https://api.example.com/",
        "https://api.example.com/v1",
        "https://api.example.com/v1/",
    ],
)
def test_base_url_with_or_without_v1(base: str) -> None:
    assert normalise_base_url(base) == "https://api.example.com"


def test_same_origin_and_redact() -> None:
    assert same_origin("https://a.example/v1/x", "https://a.example")
    assert not same_origin("https://cdn.a.example/x", "https://a.example")
    assert not same_origin("http://a.example/x", "https://a.example")
    assert not same_origin("https://a.example:8443/x", "https://a.example")
    assert redact("https://cdn.example/x.mp4?sig=SECRET") == "https://cdn.example/x.mp4"


def test_auth_never_shows_the_key_but_sends_it() -> None:
    auth = BearerAuth(KEY)
    assert KEY not in repr(auth)
    assert KEY not in str(auth)
    request = next(auth.auth_flow(httpx.Request("GET", "http://127.0.0.1:9/v1/videos")))
    assert request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.anyio
async def test_wire_repr_hides_the_key() -> None:
    async with httpx.AsyncClient() as client:
        w = wire(client)
        assert KEY not in repr(w)
        assert KEY not in repr(vars(w))


def status_error(status: int, op: Op, body: object = None, headers: dict[str, str] | None = None) -> ProviderError:
    content = json.dumps(body if body is not None else {"error": {"message": "nope"}}).encode()
    return wire().status_error(status, httpx.Headers(headers or {}), content, op=op, what="POST /v1/videos")


@pytest.mark.parametrize(
    ("status", "op", "retryable", "maybe_sent"),
    [
        (400, "create", False, False),
        (400, "read", False, False),
        (404, "read", False, False),
        (408, "create", True, False),
        (409, "read", True, False),
        (429, "create", True, False),
        (429, "read", True, False),
        (500, "create", False, True),
        (502, "create", False, True),
        (503, "create", False, True),
        (500, "read", True, False),
        (503, "read", True, False),
    ],
)
def test_status_mapping(status: int, op: Op, retryable: bool, maybe_sent: bool) -> None:
    err = status_error(status, op)
    assert (err.status, err.retryable, err.maybe_sent) == (status, retryable, maybe_sent)
    assert "nope" in str(err)


def test_429_carries_retry_after() -> None:
    err = status_error(429, "create", headers={"retry-after": "3"})
    assert err.retry_after == 3.0
    assert err.retryable
    assert not err.maybe_sent


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_name_the_variable_never_the_key(status: int) -> None:
    err = status_error(status, "create", {"error": {"message": f"Invalid token {KEY[:3]}", "code": ""}})
    assert "$CRAZYROUTER_API_KEY" in str(err)
    assert KEY not in str(err)
    assert not err.retryable
    assert not err.maybe_sent


def test_quota_error_says_to_top_up() -> None:
    err = status_error(403, "create", {"code": "insufficient_user_quota", "message": "用户额度不足", "data": None})
    assert "top it up" in str(err)
    assert err.code == "insufficient_user_quota"


def test_task_not_exist_explains() -> None:
    err = status_error(400, "read", {"code": "task_not_exist", "message": "task_not_exist", "data": None})
    assert "no such task" in str(err)
    assert err.code == "task_not_exist"
    assert not err.retryable


REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/videos")


@pytest.mark.parametrize(
    ("exc", "op", "retryable", "maybe_sent"),
    [
        (httpx.ConnectError("refused", request=REQUEST), "create", True, False),
        (httpx.ConnectTimeout("slow", request=REQUEST), "create", True, False),
        (httpx.PoolTimeout("busy", request=REQUEST), "create", True, False),
        (httpx.ReadTimeout("slow", request=REQUEST), "create", False, True),
        (httpx.WriteTimeout("slow", request=REQUEST), "create", False, True),
        (httpx.ReadError("reset", request=REQUEST), "create", False, True),
        (httpx.WriteError("broken pipe", request=REQUEST), "create", False, True),
        (httpx.RemoteProtocolError("disconnected", request=REQUEST), "create", False, True),
        (httpx.ReadTimeout("slow", request=REQUEST), "read", True, False),
        (httpx.RemoteProtocolError("disconnected", request=REQUEST), "read", True, False),
        (httpx.ConnectError("refused", request=REQUEST), "read", True, False),
        (httpx.UnsupportedProtocol("ftp", request=REQUEST), "create", False, False),
        (httpx.DecodingError("bad gzip", request=REQUEST), "create", False, True),
        (httpx.DecodingError("bad gzip", request=REQUEST), "read", True, False),
        (httpx.InvalidURL("no host"), "create", False, False),
    ],
)
def test_transport_mapping(
    exc: httpx.RequestError | httpx.InvalidURL, op: Op, retryable: bool, maybe_sent: bool
) -> None:
    err = wire().transport_error(exc, op=op, what="POST /v1/videos")
    assert (err.retryable, err.maybe_sent) == (retryable, maybe_sent)
    assert err.status is None


def test_create_on_a_missing_route_points_at_base_url_and_kind() -> None:
    err = status_error(404, "create", {"error": {"message": "Invalid URL (POST /v1/videos)", "code": ""}})
    assert "check base_url http://127.0.0.1:9" in str(err)
    assert not err.retryable
    assert not err.maybe_sent


def test_unknown_model_on_the_gateway_was_refused_not_sent() -> None:
    body = {"error": {"message": "No available channel for model sora-3 (distributor)", "code": "model_not_found"}}
    err = status_error(503, "create", body)
    assert "check the scene's model" in str(err)
    assert (err.retryable, err.maybe_sent) == (False, False)


def test_every_client_shares_one_context_that_verifies_certificates() -> None:
    ctx = tls_context()
    assert ctx is tls_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname


def test_the_bundle_is_read_once_when_a_client_asks_while_the_spare_thread_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tls, "_made", [])
    reading, release = threading.Event(), threading.Event()
    reads: list[object] = []
    real = ssl.create_default_context

    def slow(**kwargs: object) -> ssl.SSLContext:
        reads.append(kwargs)
        reading.set()
        assert release.wait(30)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", slow)
    tls.prepare()
    assert reading.wait(30), "prepare() reads the bundle on its own thread"
    got: list[ssl.SSLContext] = []
    asker = threading.Thread(target=lambda: got.append(tls.tls_context()))
    asker.start()
    release.set()
    asker.join(30)
    assert len(reads) == 1, "the client waited for the spare thread instead of reading the bundle again"
    assert got == [tls.tls_context()]
    assert got[0].verify_mode is ssl.CERT_REQUIRED
