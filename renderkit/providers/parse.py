"""Pure functions that turn every response shape the gateways send into ``TaskState`` or an error.

The shapes (bare OpenAI ``Video`` objects, ``{"code","message","data"}`` envelopes, old and new TaskDto with the
upstream body nested at ``data.data``) are catalogued in the Crazyrouter gateway reference, §1.3 to §4 and §6b.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from renderkit.errors import ProviderError
from renderkit.providers.base import Status, TaskState

_STATUS: dict[str, Status] = {
    # "unknown" is what /v1/videos shows for a gateway task that is still NOT_START.
    **dict.fromkeys(("not_start", "submitted", "queued", "pending", "unknown"), "queued"),
    **dict.fromkeys(
        ("in_progress", "processing", "running", "generating", "video_generating", "video_upsampling"),
        "running",
    ),
    **dict.fromkeys(("success", "succeeded", "completed"), "completed"),
    **dict.fromkeys(("failure", "failed", "cancelled", "canceled", "error"), "failed"),
}

_URL_FIELDS = ("artifact_url", "result_url", "url", "video_url")
_EXTRA_FIELDS = ("created_at", "model", "prompt", "size", "seconds", "remixed_from_video_id", "thumbnail_url")

Body = Mapping[str, Any]


def _word(raw: str) -> str:
    return raw.strip().lower().replace("-", "_").replace(" ", "_")


def normalise_status(raw: str) -> Status:
    """Map a status word in any case or spelling to one of the four states; raise on a word not known."""
    try:
        return _STATUS[_word(raw)]
    except KeyError:
        raise ProviderError(
            f"the provider reported the task status {raw!r}, which renderkit does not know; it will not guess "
            "whether the render finished. Report this status to the renderkit maintainers",
            code="unknown_status",
        ) from None


def parse_progress(value: object) -> int | None:
    """Read progress given as an int, a float or a ``"NN%"`` string, clamped to 0..100."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value.strip().rstrip("%") if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    # NaN and infinity (JSON's NaN, 1e400, "inf%") are no percentage.
    return max(0, min(100, int(number))) if math.isfinite(number) else None


def is_envelope(body: Body) -> bool:
    """Whether ``body`` is the gateway's ``{"code","message","data"}`` wrapper rather than a task object."""
    return isinstance(body.get("code"), str) and ("data" in body or "message" in body) and "status" not in body


def unwrap(body: Body) -> tuple[Body, Body]:
    """Return the task object and the upstream body nested in it (empty when there is none).

    Raises ``ProviderError`` when the envelope reports an error instead of a task.
    """
    task: Body = body
    bare_error = isinstance(body.get("error"), Mapping) and "status" not in body and "id" not in body
    if bare_error or (is_envelope(body) and str(body["code"]).lower() != "success"):
        message, code = error_details(body)
        raise ProviderError(f"the provider answered with an error: {message}", code=code)
    if is_envelope(body):
        data = body.get("data")
        if not isinstance(data, Mapping):
            raise ProviderError(
                "the provider answered 'success' without any task data; retry later or report it to the provider",
                code="empty_envelope",
            )
        task = data
    inner = task.get("data")
    return task, inner if isinstance(inner, Mapping) else {}


def task_id_of(task: Body, inner: Body) -> str | None:
    """The public task id: ``task_id``, ``id``, then the nested body's; never TaskDto's integer row id."""
    for source in (task, inner):
        for name in ("task_id", "id"):
            value = source.get(name)
            if isinstance(value, str) and value:
                return value
    return None


def _text(source: Body, name: str) -> str | None:
    value = source.get(name)
    return value if isinstance(value, str) and value else None


def _nested_text(source: Body, outer: str, name: str) -> str | None:
    value = source.get(outer)
    return _text(value, name) if isinstance(value, Mapping) else None


def result_url_of(task: Body, inner: Body, raw_status: str) -> str | None:
    """The result URL in the reference's order; old servers kept it in ``fail_reason`` on SUCCESS."""
    candidates = [_text(task, name) for name in _URL_FIELDS]
    candidates += [_text(inner, "url"), _text(inner, "video_url")]
    candidates += [_nested_text(task, "metadata", "url"), _nested_text(task, "video", "url")]
    for url in candidates:
        if url:
            return url
    reason = _text(task, "fail_reason")
    if reason and reason.startswith("http") and raw_status.strip().upper() == "SUCCESS":
        return reason
    return None


def failure_of(task: Body, inner: Body, result_url: str | None) -> tuple[str | None, str | None]:
    """The failure text and code: ``fail_reason``, then ``error.message``, then the nested ``error.message``."""
    reason = _text(task, "fail_reason")
    if reason == result_url:
        reason = None
    message, code = None, None
    for source in (task, inner):
        error = source.get("error")
        if isinstance(error, Mapping):
            message = message or _text(error, "message")
            code = code or _text(error, "code")
        elif isinstance(error, str) and error:
            message = message or error
    return reason or message, code


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_task(body: Body, *, poll_after: float | None = None, created: bool = False) -> TaskState:
    """Turn any task-shaped response body into a ``TaskState``; raise ``ProviderError`` on what it cannot read.

    With ``created`` (the answer to a paid create) a missing or unknown status reads as queued: the task id must
    reach the journal, and the next poll judges the status strictly.
    """
    task, inner = unwrap(body)
    task_id = task_id_of(task, inner)
    if task_id is None:
        raise ProviderError(
            "the provider's answer names no task id; report the response to the provider", code="no_task_id"
        )
    raw_status = _text(task, "status") or _text(inner, "status") or ""
    if created and _word(raw_status) not in _STATUS:
        status: Status = "queued"
    elif not raw_status:
        raise ProviderError(
            f"the provider's answer for task {task_id} has no status; report the response to the provider",
            code="no_status",
        )
    else:
        status = normalise_status(raw_status)
    result_url = result_url_of(task, inner, raw_status)
    error, error_code = failure_of(task, inner, result_url)
    progress = parse_progress(task.get("progress"))
    if progress is None:
        progress = parse_progress(inner.get("progress"))
    expires_at = _int(task.get("expires_at"))
    if expires_at is None:
        expires_at = _int(inner.get("expires_at"))
    extra = {name: src[name] for src in (inner, task) for name in _EXTRA_FIELDS if src.get(name) is not None}
    return TaskState(
        task_id=task_id,
        status=status,
        raw_status=raw_status,
        progress=progress,
        result_url=result_url,
        error=error or ("the provider gave no reason" if status == "failed" else None),
        error_code=error_code,
        poll_after=poll_after,
        expires_at=expires_at,
        extra=extra,
    )


def error_details(body: object) -> tuple[str, str | None]:
    """The message and code of an error body: ``{"error":{...}}``, ``{"code","message","data"}`` or text."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return _text(error, "message") or "no message", _text(error, "code") or _text(error, "type")
        if isinstance(error, str) and error:
            return error, _text(body, "code")
        message = _text(body, "message") or _text(body, "detail")
        code = _text(body, "code")
        if code == "fail_to_fetch_task" and message:
            # The gateway relays the upstream's error body as a string in ``message``.
            try:
                upstream = json.loads(message)
            except (ValueError, RecursionError):  # nesting deeper than the parser's stack is no error body either
                upstream = None
            if isinstance(upstream, Mapping):
                upstream_message, upstream_code = error_details(upstream)
                return f"upstream: {upstream_message}", upstream_code or code
        if message or code:
            return message or code or "no message", code
        return _snippet(json.dumps(body)), None
    if isinstance(body, str) and body.strip():
        return _snippet(body.strip()), None
    return "no message", None


def error_details_from_bytes(content: bytes) -> tuple[str, str | None]:
    """Like ``error_details`` for a raw response body that may not be JSON."""
    text = content.decode("utf-8", errors="replace")
    try:
        return error_details(json.loads(text))
    except (ValueError, RecursionError):
        return error_details(text)


def _snippet(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
