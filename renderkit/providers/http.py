"""The HTTP boundary: one place that sends requests and turns httpx failures and statuses into ProviderError.

Creates and reads differ: a read (poll, list, download) may always be sent again, but a create is paid, so any
failure after which the request may have reached the provider is reported as ``maybe_sent`` and never retryable.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import AsyncGenerator, Generator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from renderkit.errors import ProviderError
from renderkit.providers.parse import error_details_from_bytes

Op = Literal["create", "read"]

# No task, error or page of a list is anywhere near this once decompressed; a body that is larger is a lie.
MAX_ANSWER_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Limits:
    """How much renderkit takes from one provider before calling it a lie; each limit is named when hit."""

    max_download_bytes: int = 4 * 2**30
    stall_seconds: float = 30.0  # a download that receives less than ``stall_bytes`` in this long fails, resumable
    stall_bytes: int = 64 * 1024
    download_seconds: float = 3600.0  # one download attempt, however it trickles
    list_pages: int = 50  # pages of the list route read to find a lost create
    list_seconds: float = 60.0


class TooLarge(Exception):
    """An answer went past MAX_ANSWER_BYTES (after decompression)."""


# The most one received chunk may inflate to at once.
PIECE_BYTES = 2**20
# What renderkit inflates itself (what it asks for in Accept-Encoding); anything else is read as sent.
_INFLATE = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


async def body_pieces(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The decoded body in pieces of at most PIECE_BYTES, however far one received chunk inflates.

    httpx inflates each chunk it receives in one go, so a 64 KiB chunk of a gzip bomb is 64 MB in memory before
    any limit is looked at. gzip and deflate are inflated here instead, a bounded piece at a time; a body in any
    other encoding is passed on as received (renderkit asks for none, and cannot read one).
    """
    if response.is_stream_consumed:  # read (and decoded by httpx) before it came here, as a mock transport does
        content = response.content
        for start in range(0, len(content), PIECE_BYTES):
            yield content[start : start + PIECE_BYTES]
        return
    encoding = response.headers.get("content-encoding", "").strip().lower()
    wbits = _INFLATE.get(encoding)
    if wbits is None:
        async for chunk in response.aiter_raw():
            yield chunk
        return
    inflater = zlib.decompressobj(wbits)
    raw_deflate_allowed = encoding == "deflate"  # some servers send deflate without its zlib header, as httpx allows
    try:
        async for chunk in response.aiter_raw():
            data = chunk
            while data:
                try:
                    piece = inflater.decompress(data, PIECE_BYTES)
                except zlib.error:
                    if not raw_deflate_allowed:
                        raise
                    raw_deflate_allowed = False
                    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raw_deflate_allowed = False
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
        if tail := inflater.flush():  # what the last input still holds: at most a window, 32 KiB
            yield tail
    except zlib.error as exc:
        raise httpx.DecodingError(f"the {encoding} body does not inflate: {exc}", request=response.request) from None


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read piece by piece and refused past ``limit`` bytes (a gzip bomb stops there too)."""
    length = response.headers.get("content-length", "")
    encoded = "content-encoding" in response.headers
    if length.isdigit() and int(length) > limit and not encoded:
        raise TooLarge
    out = bytearray()
    async with contextlib.aclosing(body_pieces(response)) as pieces:
        async for piece in pieces:
            out += piece
            if len(out) > limit:
                raise TooLarge
    return bytes(out)


_RETRYABLE_STATUS = frozenset({408, 409, 429})
_QUOTA_CODES = frozenset({"insufficient_user_quota", "quota_not_enough", "insufficient_quota"})
# Failures that happen before any byte of the request left this machine.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer KEY`` as the request is sent, so the key sits in no dict, repr or message."""

    def __init__(self, api_key: str) -> None:
        self._key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the key to ``request``."""
        request.headers["Authorization"] = f"Bearer {self._key}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth('***')"

    __str__ = __repr__


def normalise_base_url(base_url: str) -> str:
    """Strip a trailing slash and a trailing ``/v1``, so routes can always be written as ``/v1/...``."""
    base = base_url.strip().rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the provider's own scheme, host and port (and may therefore carry the key)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def redact(url: str) -> str:
    """The URL without its query, which for signed result URLs is a credential."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP-date), else None."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def poll_after(headers: httpx.Headers) -> float | None:
    """The server's suggested poll interval (``openai-poll-after-ms``) in seconds, else None."""
    value = headers.get("openai-poll-after-ms")
    if value is None:
        return None
    try:
        return max(0.0, float(value) / 1000)
    except ValueError:
        return None


class Wire:
    """Sends one provider's requests with its key and maps every failure into ``ProviderError``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        provider: str,
        key_env: str | None,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        self.client = client
        self.provider = provider
        self.limits = limits or Limits()
        self.key_source = f"${key_env}" if key_env else f"the api_key_env of provider {provider!r}"
        self._auth = BearerAuth(api_key)

    def __repr__(self) -> str:
        return f"Wire(provider={self.provider!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        """An absolute URL for a route path such as ``/v1/videos``."""
        return self.base_url + path

    def auth_for(self, url: str) -> httpx.Auth | None:
        """The key for the provider's own routes; none for signed URLs on other hosts."""
        return self._auth if same_origin(url, self.base_url) else None

    async def call(
        self,
        method: str,
        path: str,
        *,
        op: Op,
        json_body: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[dict[str, Any], httpx.Headers]:
        """Send one JSON-answering request and return the decoded body and the headers."""
        url = self.url(path)
        what = f"{method} {path}"
        try:
            request = self.client.build_request(
                method,
                url,
                headers={"Accept": "application/json", "Accept-Encoding": "gzip, deflate"},
                json=json_body,
                data=form,
                files=files,
                params=params,
            )
            response = await self.client.send(request, auth=self.auth_for(url), stream=True)
            try:
                content = await read_capped(response, MAX_ANSWER_BYTES)
            finally:
                await response.aclose()
        except TooLarge:
            raise self.too_large(what, op=op, status=response.status_code) from None
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            raise self.transport_error(exc, op=op, what=what) from exc
        if response.status_code >= 400:
            raise self.status_error(response.status_code, response.headers, content, op=op, what=what)
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the JSON parser's stack
            body = None
        if not isinstance(body, dict):
            raise self.unreadable(what, op=op, status=response.status_code)
        return body, response.headers

    def too_large(self, what: str, *, op: Op, status: int) -> ProviderError:
        """An answer longer than any real one (``MAX_ANSWER_BYTES`` once decompressed): not read further."""
        said = f"{self.provider}: {what} answered HTTP {status} with more than {MAX_ANSWER_BYTES // 2**20} MiB"
        if op == "create":
            return ProviderError(
                f"{said}, far more than any real answer, so renderkit stopped reading; the render may have started "
                "and been paid for, so it will not be sent again blindly",
                status=status,
                code="answer_too_large",
                maybe_sent=True,
            )
        return ProviderError(
            f"{said}, far more than any real answer, so renderkit stopped reading; retry later",
            status=status,
            code="answer_too_large",
            retryable=True,
        )

    def unreadable(self, what: str, *, op: Op, status: int | None = None) -> ProviderError:
        """A successful answer whose body renderkit cannot read."""
        if op == "create":
            return ProviderError(
                f"{self.provider}: {what} answered HTTP {status} with a body renderkit cannot read, so the render "
                "may have started and been paid for; check the provider's dashboard before building again",
                status=status,
                maybe_sent=True,
            )
        return ProviderError(
            f"{self.provider}: {what} answered HTTP {status} with a body renderkit cannot read; retry later",
            status=status,
            retryable=True,
        )

    def transport_error(self, exc: httpx.RequestError | httpx.InvalidURL, *, op: Op, what: str) -> ProviderError:
        """Map a connection, timeout, protocol or decoding failure; never expose the httpx type."""
        kind = type(exc).__name__
        if isinstance(exc, NOT_SENT):
            return ProviderError(
                f"{self.provider}: could not connect for {what} ({kind}: {exc}); check base_url "
                f"{self.base_url} and the network, then retry",
                code="connect_failed",
                retryable=True,
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.InvalidURL):
            return ProviderError(
                f"{self.provider}: cannot send {what} ({kind}: {exc}); check base_url {self.base_url}",
                code="bad_request_setup",
            )
        if op == "create":
            return ProviderError(
                f"{self.provider}: the connection failed after {what} was sent ({kind}: {exc}), so the render may "
                "have started and been paid for; renderkit will not send it again blindly. Check the provider's "
                "dashboard or let renderkit reconcile before building again",
                code="maybe_sent",
                maybe_sent=True,
            )
        return ProviderError(
            f"{self.provider}: {what} failed ({kind}: {exc}); it is safe to retry",
            code="network",
            retryable=True,
        )

    def status_error(self, status: int, headers: httpx.Headers, content: bytes, *, op: Op, what: str) -> ProviderError:
        """Map an HTTP error status and body into a ProviderError that says what to do."""
        message, code = error_details_from_bytes(content)
        said = f"{self.provider}: {what} answered HTTP {status}: {message}"
        wait = retry_after(headers)
        if code in _QUOTA_CODES:
            return ProviderError(
                f"{said}. The account behind {self.key_source} has no credit left; top it up and retry",
                status=status,
                code=code,
            )
        if status in (401, 403):
            return ProviderError(
                f"{said}. Check the API key in {self.key_source} (and that it may use this model)",
                status=status,
                code=code,
            )
        if status in _RETRYABLE_STATUS:
            # A create refused with 408/409/429 was not accepted, so it was not charged and may be sent again.
            return ProviderError(
                f"{said}; retry after a pause", status=status, code=code, retryable=True, retry_after=wait
            )
        if code == "model_not_found":
            # new-api's distributor answers this (HTTP 503) before the task handler runs, so nothing was charged.
            return ProviderError(
                f"{said}. The gateway serves no model by this name for this key; check the scene's model",
                status=status,
                code=code,
            )
        if status >= 500:
            if op == "create":
                return ProviderError(
                    f"{said}. The render may have started and been paid for, so renderkit will not send it "
                    "again blindly; check the provider's dashboard or let renderkit reconcile",
                    status=status,
                    code=code,
                    maybe_sent=True,
                )
            return ProviderError(f"{said}; retry later", status=status, code=code, retryable=True, retry_after=wait)
        if op == "create" and status in (404, 405):
            return ProviderError(
                f"{said}. This server has no such route: check base_url {self.base_url} and that the provider's "
                "kind matches the routes it serves",
                status=status,
                code=code,
            )
        if code == "task_not_exist" or (op == "read" and status == 404):
            return ProviderError(
                f"{said}. The provider has no such task for this key; was it created with another key or base_url?",
                status=status,
                code=code,
            )
        return ProviderError(f"{said}; fix the request and retry", status=status, code=code)
