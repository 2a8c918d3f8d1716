"""Every response shape in the gateway reference parses into the same TaskState."""

from __future__ import annotations

import json
from typing import Any

import pytest

from renderkit.errors import ProviderError
from renderkit.providers.parse import error_details, error_details_from_bytes, parse_progress, parse_task

URL = "https://cdn.example/x.mp4"
# The gateway's own wording, with its full-width parentheses.
TIMED_OUT = "任务超时\uff081440分钟\uff09"


def envelope(data: Any) -> dict[str, Any]:
    return {"code": "success", "message": "", "data": data}


@pytest.mark.parametrize(
    ("body", "task_id", "status"),
    [
        pytest.param(
            {
                "id": "task_AbC",
                "task_id": "task_AbC",
                "object": "video",
                "model": "sora-2",
                "status": "queued",
                "progress": 0,
                "created_at": 1773381488,
                "seconds": "8",
                "size": "1280x720",
            },
            "task_AbC",
            "queued",
            id="sora-adaptor-create",
        ),
        pytest.param(
            {
                "id": "video_69b3a770",
                "object": "video",
                "model": "sora-2",
                "status": "queued",
                "progress": 0,
                "created_at": 1773381488,
                "seconds": "8",
                "size": "1280x720",
            },
            "video_69b3a770",
            "queued",
            id="old-create-upstream-id",
        ),
        pytest.param(
            {
                "id": "video_task_abc123",
                "task_id": "video_task_abc123",
                "status": "processing",
                "status_update_time": 1709123456,
            },
            "video_task_abc123",
            "running",
            id="alias-create-processing",
        ),
        pytest.param(
            envelope({"id": "video_task_abc123", "task_id": "video_task_abc123", "status": "processing"}),
            "video_task_abc123",
            "running",
            id="enveloped-videos-create",
        ),
        pytest.param(
            {"task_id": "video_task_abc123", "status": "processing"},
            "video_task_abc123",
            "running",
            id="unified-create-zh",
        ),
        pytest.param(
            envelope({"id": 42, "task_id": "task_x", "status": "NOT_START", "progress": "0%"}),
            "task_x",
            "queued",
            id="taskdto-not-start-int-id",
        ),
        pytest.param(
            envelope({"id": 42, "task_id": "task_x", "status": "SUBMITTED", "progress": "10%"}),
            "task_x",
            "queued",
            id="taskdto-submitted",
        ),
        pytest.param(
            {"id": "task_x", "object": "video", "status": "unknown", "progress": 0},
            "task_x",
            "queued",
            id="videos-unknown-is-not-start",
        ),
        pytest.param({"id": "t", "status": "video_generating"}, "t", "running", id="veo-substate"),
        pytest.param({"id": "t", "status": "In-Progress"}, "t", "running", id="mixed-case-dash"),
        pytest.param({"id": "t", "status": "Cancelled"}, "t", "failed", id="cancelled"),
        pytest.param(
            {"data": {"task_id": "inner_t", "status": "pending"}, "status": "pending"},
            "inner_t",
            "queued",
            id="id-only-nested",
        ),
    ],
)
def test_task_id_and_status(body: dict[str, Any], task_id: str, status: str) -> None:
    state = parse_task(body)
    assert (state.task_id, state.status) == (task_id, status)


def test_current_taskdto_in_progress_reads_percent_and_never_the_row_id() -> None:
    body = envelope(
        {
            "id": 9001,
            "task_id": "task_AbC",
            "platform": "55",
            "action": "textGenerate",
            "status": "IN_PROGRESS",
            "fail_reason": "",
            "progress": "30%",
            "quota": 2000000,
            "data": {"id": "video_up", "status": "in_progress", "progress": 37},
        }
    )
    state = parse_task(body)
    assert (state.task_id, state.status, state.raw_status, state.progress) == ("task_AbC", "running", "IN_PROGRESS", 30)
    assert state.error is None
    assert state.result_url is None


def test_live_old_taskdto_reads_the_upstream_body_nested_at_data_data() -> None:
    body = envelope(
        {
            "task_id": "video_69b3",
            "action": "textGenerate",
            "status": "SUCCESS",
            "progress": "100%",
            "submit_time": 1773381488,
            "start_time": 1773381573,
            "finish_time": 1773381664,
            "data": {
                "id": "video_69b3",
                "model": "sora-2",
                "object": "video",
                "status": "completed",
                "progress": 100,
                "created_at": 1773381488,
                "completed_at": 1773381629,
                "expires_at": 1773385229,
                "seconds": "8",
                "size": "1280x720",
                "prompt": "p",
                "url": URL,
                "video_url": URL + "?v",
                "thumbnail_url": "https://cdn.example/x.webp",
            },
        }
    )
    state = parse_task(body)
    assert (state.task_id, state.status, state.progress) == ("video_69b3", "completed", 100)
    assert state.result_url == URL
    assert state.expires_at == 1773385229
    assert state.extra["size"] == "1280x720"
    assert state.extra["created_at"] == 1773381488


def test_fork_taskdto_prefers_artifact_url() -> None:
    body = envelope(
        {
            "id": "video_task_abc123",
            "task_id": "video_task_abc123",
            "status": "SUCCESS",
            "result_url": "https://media.example/r.mp4",
            "artifact_url": "https://media.example/a.mp4",
        }
    )
    state = parse_task(body)
    assert (state.status, state.result_url) == ("completed", "https://media.example/a.mp4")


def test_current_taskdto_result_url_is_the_proxy_route() -> None:
    body = envelope(
        {
            "id": 3,
            "task_id": "task_p",
            "status": "SUCCESS",
            "progress": "100%",
            "result_url": "https://gw.example/v1/videos/task_p/content",
        }
    )
    assert parse_task(body).result_url == "https://gw.example/v1/videos/task_p/content"


def test_old_server_keeps_the_result_url_in_fail_reason_on_success() -> None:
    body = envelope(
        {
            "task_id": "video_1",
            "status": "SUCCESS",
            "progress": "100%",
            "fail_reason": "https://gw.example/v1/videos/video_1/content",
            "data": {},
        }
    )
    state = parse_task(body)
    assert state.result_url == "https://gw.example/v1/videos/video_1/content"
    assert state.error is None


def test_fail_reason_url_on_failure_is_the_error_not_a_result() -> None:
    body = envelope({"task_id": "t", "status": "FAILURE", "fail_reason": "http upstream said no"})
    state = parse_task(body)
    assert (state.status, state.result_url, state.error) == ("failed", None, "http upstream said no")


def test_gateway_timeout_failure_text() -> None:
    body = envelope({"id": 1, "task_id": "t", "status": "FAILURE", "progress": "100%", "fail_reason": TIMED_OUT})
    state = parse_task(body)
    assert (state.status, state.error) == ("failed", TIMED_OUT)


@pytest.mark.parametrize(
    ("body", "url"),
    [
        pytest.param(
            {"id": "v", "status": "completed", "video": {"url": URL, "duration": 10}}, URL, id="seed-video-object"
        ),
        pytest.param(
            {"id": "task_k", "object": "video", "status": "completed", "progress": 100, "metadata": {"url": URL}},
            URL,
            id="gateway-metadata-url",
        ),
        pytest.param(
            {"id": "v", "status": "completed", "status_update_time": 1, "video_url": URL}, URL, id="unified-old-query"
        ),
        pytest.param(
            envelope({"task_id": "veo_task_abc123", "status": "SUCCESS", "url": URL, "artifact_url": URL + "?a"}),
            URL + "?a",
            id="unified-zh-envelope",
        ),
        pytest.param(
            envelope({"task_id": "t", "status": "SUCCESS", "data": {"video_url": URL}}), URL, id="nested-video-url"
        ),
        pytest.param({"id": "v", "status": "completed"}, None, id="openai-no-url"),
    ],
)
def test_result_url_shapes(body: dict[str, Any], url: str | None) -> None:
    state = parse_task(body)
    assert state.status == "completed"
    assert state.result_url == url


def test_openai_failed_job_reads_error_code_and_message() -> None:
    body = {
        "id": "video_1",
        "object": "video",
        "status": "failed",
        "progress": 0,
        "error": {"code": "content_policy_violation", "message": "blocked"},
    }
    state = parse_task(body)
    assert (state.status, state.error, state.error_code) == ("failed", "blocked", "content_policy_violation")


def test_failure_text_from_nested_upstream_error() -> None:
    body = envelope(
        {
            "task_id": "t",
            "status": "FAILURE",
            "fail_reason": "",
            "data": {"status": "failed", "error": {"message": "moderation", "code": "mod"}},
        }
    )
    state = parse_task(body)
    assert (state.error, state.error_code) == ("moderation", "mod")


def test_failure_without_any_text_says_so() -> None:
    assert parse_task({"id": "t", "status": "failed", "error": None}).error == "the provider gave no reason"


def test_unknown_status_raises_and_names_it() -> None:
    with pytest.raises(ProviderError, match="'half_done'") as info:
        parse_task({"id": "t", "status": "half_done"})
    assert info.value.code == "unknown_status"
    assert not info.value.retryable


def test_create_answer_with_unknown_status_keeps_the_task_id() -> None:
    state = parse_task({"id": "t", "status": "accepted_for_review"}, created=True)
    assert (state.task_id, state.status, state.raw_status) == ("t", "queued", "accepted_for_review")


def test_create_answer_without_status_keeps_the_task_id() -> None:
    assert parse_task({"task_id": "t"}, created=True).status == "queued"


def test_missing_status_on_poll_raises() -> None:
    with pytest.raises(ProviderError, match="no status"):
        parse_task({"id": "t"})


def test_missing_task_id_raises() -> None:
    with pytest.raises(ProviderError, match="no task id"):
        parse_task(envelope({"id": 7, "status": "SUCCESS"}))


def test_error_envelope_raises_with_its_code() -> None:
    with pytest.raises(ProviderError, match="task_not_exist") as info:
        parse_task({"code": "task_not_exist", "message": "task_not_exist", "data": None})
    assert info.value.code == "task_not_exist"


def test_success_envelope_without_data_raises() -> None:
    with pytest.raises(ProviderError, match="without any task data"):
        parse_task({"code": "success", "message": "", "data": None})


def test_poll_after_is_carried() -> None:
    assert parse_task({"id": "t", "status": "queued"}, poll_after=0.25).poll_after == 0.25


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (37, 37),
        ("30%", 30),
        (" 55 % ", 55),
        ("100%", 100),
        (12.7, 12),
        (150, 100),
        ("-3", 0),
        ("soon", None),
        (None, None),
        (True, None),
    ],
)
def test_progress(value: object, expected: int | None) -> None:
    assert parse_progress(value) == expected


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        pytest.param(
            {"error": {"message": "未提供令牌 (request id: 1)", "type": "new_api_error", "code": ""}},
            "未提供令牌 (request id: 1)",
            "new_api_error",
            id="middleware-no-key",
        ),
        pytest.param(
            {
                "error": {
                    "message": "No available channel for model x",
                    "type": "new_api_error",
                    "code": "model_not_found",
                }
            },
            "No available channel for model x",
            "model_not_found",
            id="middleware-model-not-found",
        ),
        pytest.param(
            {
                "error": {
                    "message": "Invalid type for 'input_reference'",
                    "type": "invalid_request_error",
                    "param": "input_reference",
                    "code": "invalid_type",
                }
            },
            "Invalid type for 'input_reference'",
            "invalid_type",
            id="openai-error",
        ),
        pytest.param(
            {"code": "invalid_size", "message": "sora-2 size is invalid", "data": None},
            "sora-2 size is invalid",
            "invalid_size",
            id="task-envelope",
        ),
        pytest.param(
            {
                "code": "fail_to_fetch_task",
                "message": json.dumps({"error": {"message": "Video not found", "code": "not_found"}}),
                "data": None,
            },
            "upstream: Video not found",
            "not_found",
            id="fail-to-fetch-json",
        ),
        pytest.param(
            {"code": "fail_to_fetch_task", "message": "bad gateway", "data": None},
            "bad gateway",
            "fail_to_fetch_task",
            id="fail-to-fetch-text",
        ),
        pytest.param({"detail": "Not Found"}, "Not Found", None, id="detail"),
        pytest.param({"error": "rate limited"}, "rate limited", None, id="error-string"),
        pytest.param("<html>502</html>", "<html>502</html>", None, id="text"),
    ],
)
def test_error_details(body: object, message: str, code: str | None) -> None:
    assert error_details(body) == (message, code)


def test_error_details_from_non_json_bytes_are_cut_short() -> None:
    message, code = error_details_from_bytes(b"x" * 1000)
    assert len(message) < 400
    assert code is None


def test_openai_error_object_in_a_success_answer_raises_its_message() -> None:
    with pytest.raises(ProviderError, match="Upstream service returned status 502") as info:
        parse_task({"error": {"message": "Upstream service returned status 502", "type": "server_error"}})
    assert info.value.code == "server_error"
