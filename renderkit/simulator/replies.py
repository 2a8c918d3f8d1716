"""Error replies shared by the routes: auth, limits, unknown tasks, bad input, faults and bugs."""

from __future__ import annotations

import math

from starlette.requests import Request

from renderkit.simulator.config import SimConfig
from renderkit.simulator.dialects import GENERATIONS, UNIFIED, VIDEOS, api_error, task_error, uses_task_envelope
from renderkit.simulator.inputs import InvalidRequest
from renderkit.simulator.wire import Refusal, Reply


def family_of(template: str) -> str:
    """Which route family a template belongs to."""
    if "/v1/video/generations" in template:
        return GENERATIONS
    if "/v1/video/" in template:
        return UNIFIED
    return VIDEOS


def authenticate(request: Request, config: SimConfig) -> str:
    """The bearer (or x-api-key) key, checked against the configured keys; Refusal with 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else request.headers.get("x-api-key", "").strip()
    gateway = config.dialect != "openai"
    if not key:
        message = "Token not provided" if gateway else "You didn't provide an API key; send Authorization: Bearer KEY"
        raise Refusal(_unauthorized(message, gateway))
    if config.api_keys and key not in config.api_keys:
        message = "Invalid token" if gateway else "Incorrect API key provided"
        raise Refusal(_unauthorized(f"{message}: {key}" if config.echo_key else message, gateway))
    return key


def _unauthorized(message: str, gateway: bool) -> Reply:
    if gateway:
        return Reply(401, api_error(message, type_="new_api_error", code=""))
    return Reply(401, api_error(message, type_="invalid_request_error", code="invalid_api_key"))


def rate_limited(wait: float, message: str) -> Reply:
    """429 with ``Retry-After`` (whole seconds) and ``retry-after-ms``."""
    return Reply(429, api_error(message, type_="rate_limit_error", code="rate_limit_exceeded"), _retry_headers(wait))


def _retry_headers(wait: float) -> dict[str, str]:
    wait = max(wait, 0.001)
    return {"retry-after": str(max(1, math.ceil(wait))), "retry-after-ms": str(max(1, math.ceil(wait * 1000)))}


def internal_error(exc: Exception) -> Reply:
    """JSON 500 for a simulator bug, so it never looks like a dropped connection."""
    return Reply(500, api_error(f"internal simulator error: {exc!r}", type_="server_error", code="internal"))


def injected(status: int, retry_after: float) -> Reply:
    """The answer of a status fault, announcing ``retry_after`` seconds when positive."""
    headers = _retry_headers(retry_after) if retry_after > 0 else {}
    type_ = "server_error" if status >= 500 else "invalid_request_error"
    return Reply(status, api_error(f"injected fault: HTTP {status}", type_=type_, code="injected_fault"), headers)


def not_found(dialect: str, family: str, task_id: str) -> Reply:
    """Unknown task: 400 ``task_not_exist`` in the gateway's shape, 404 in OpenAI's."""
    if uses_task_envelope(dialect, family):
        return Reply(400, task_error("task_not_exist", "task_not_exist"))
    message = f"Video with id '{task_id}' not found."
    return Reply(404, api_error(message, type_="invalid_request_error", code="not_found"))


def invalid(exc: InvalidRequest, dialect: str, family: str) -> Reply:
    """A refused request body in the shape of the dialect and family."""
    if uses_task_envelope(dialect, family):
        return Reply(400, task_error(exc.code, exc.message))
    return Reply(400, api_error(exc.message, type_="invalid_request_error", code=exc.code, param=exc.param))


def model_not_found(model: str) -> Reply:
    """The gateway distributor's answer for a model no channel serves."""
    message = f"No available channel for model {model} under group default (distributor)"
    return Reply(503, api_error(message, type_="new_api_error", code="model_not_found"))
