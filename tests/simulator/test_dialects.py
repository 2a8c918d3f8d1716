"""Every family answers in every dialect with the shapes of the gateway reference."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from renderkit.simulator import DIALECTS, Simulator

BODY = {"model": "sora-2", "prompt": "a lighthouse", "seconds": "8", "size": "1280x720"}
FAMILIES = {
    "generations": ("/v1/video/generations", "/v1/video/generations/{}"),
    "unified": ("/v1/video/create", "/v1/video/query?task_id={}"),
    "videos": ("/v1/videos", "/v1/videos/{}"),
}


def _task_id(body: dict[str, Any]) -> str:
    # The client rule of the reference: task_id, id, data.task_id, data.id.
    data = body.get("data") or {}
    found = body.get("task_id") or body.get("id") or data.get("task_id") or data.get("id")
    assert isinstance(found, str)
    return found


def _run(simulator: Simulator, http: httpx.Client, dialect: str, family: str) -> tuple[Any, Any, Any]:
    simulator.configure(dialect=dialect, latency=10)
    create_path, poll_path = FAMILIES[family]
    created = http.post(create_path, json=BODY)
    assert created.status_code == 200
    task_id = _task_id(created.json())
    pending = http.get(poll_path.format(task_id))
    simulator.advance(10)
    done = http.get(poll_path.format(task_id))
    assert pending.status_code == done.status_code == 200
    return created.json(), pending.json(), done.json()


@pytest.mark.parametrize("family", FAMILIES)
def test_openai_dialect(simulator: Simulator, http: httpx.Client, family: str) -> None:
    created, pending, done = _run(simulator, http, "openai", family)
    if family == "videos":
        assert created["object"] == "video"
        assert (created["status"], created["progress"], created["seconds"]) == ("queued", 0, "8")
        assert "task_id" not in created
        assert (done["status"], done["progress"], done["size"]) == ("completed", 100, "1280x720")
    elif family == "generations":
        assert created["task_id"] == created["id"]
        assert re.fullmatch(r"task_[0-9a-f]{32}", created["id"])
        assert pending["code"] == "success"
        assert pending["data"]["status"] == "QUEUED"
        assert isinstance(done["data"]["id"], int)  # the TaskDto row id, never the task id
        assert done["data"]["status"] == "SUCCESS"
        assert done["data"]["progress"] == "100%"
        assert done["data"]["result_url"].endswith(f"/v1/videos/{created['id']}/content")
    else:
        assert (created["status"], pending["status"], done["status"]) == ("processing", "processing", "completed")
        assert done["video_url"].endswith(f"/v1/videos/{created['task_id']}/content")


@pytest.mark.parametrize("family", FAMILIES)
def test_envelope_dialect(simulator: Simulator, http: httpx.Client, family: str) -> None:
    created, pending, done = _run(simulator, http, "envelope", family)
    assert pending["code"] == "success"
    assert pending["message"] == ""
    assert pending["data"]["status"] == "QUEUED"
    assert pending["data"]["progress"] == "0%"
    assert done["data"]["status"] == "SUCCESS"
    assert done["data"]["result_url"].endswith("/content")
    if family != "generations":
        assert created["data"]["task_id"] == done["data"]["task_id"]
        assert done["data"]["artifact_url"] == done["data"]["result_url"]


@pytest.mark.parametrize("family", FAMILIES)
def test_taskdto_dialect(simulator: Simulator, http: httpx.Client, family: str) -> None:
    created, pending, done = _run(simulator, http, "taskdto", family)
    assert created["object"] == "video"
    assert "task_id" not in created  # the old gateway passed the upstream object through
    old_keys = {"task_id", "action", "status", "fail_reason", "submit_time", "start_time", "finish_time", "progress"}
    assert old_keys | {"data"} == set(done["data"])
    assert pending["data"]["status"] == "QUEUED"
    assert pending["data"]["fail_reason"] == ""
    assert done["data"]["status"] == "SUCCESS"
    assert done["data"]["fail_reason"].endswith(f"/v1/videos/{created['id']}/content")
    assert done["data"]["data"]["video_url"] == done["data"]["fail_reason"]


@pytest.mark.parametrize("family", ["unified", "videos"])
def test_video_object_dialect(simulator: Simulator, http: httpx.Client, family: str) -> None:
    created, pending, done = _run(simulator, http, "video-object", family)
    assert created["status"] == pending["status"] == "processing"
    assert "video" not in pending
    assert done["status"] == "completed"
    video = done["video"]
    assert (video["duration"], video["width"], video["height"]) == (8, 1280, 720)
    assert video["url"].endswith(f"/v1/videos/{created['id']}/content")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_failed_jobs_report_their_code(simulator: Simulator, http: httpx.Client, dialect: str) -> None:
    simulator.add_fault("create:fail=content_policy_violation")
    _, _, done = _run(simulator, http, dialect, "videos")
    text = repr(done)
    assert "content_policy_violation" in text or "content policy" in text
    status = {"openai": "failed", "envelope": "FAILURE", "taskdto": "FAILURE", "video-object": "failed"}[dialect]
    assert status in text


@pytest.mark.parametrize(
    ("dialect", "path", "status", "shape"),
    [
        ("openai", "/v1/videos/video_nope", 404, "error"),
        ("video-object", "/v1/videos/video_nope", 404, "error"),
        ("envelope", "/v1/videos/video_nope", 400, "task"),
        ("taskdto", "/v1/videos/video_nope", 400, "task"),
        ("openai", "/v1/video/generations/task_nope", 400, "task"),
        ("openai", "/v1/video/query?id=task_nope", 400, "task"),
    ],
)
def test_unknown_task_errors_match_the_dialect(
    simulator: Simulator, http: httpx.Client, dialect: str, path: str, status: int, shape: str
) -> None:
    simulator.configure(dialect=dialect)
    response = http.get(path)
    assert response.status_code == status
    if shape == "task":
        assert response.json() == {"code": "task_not_exist", "message": "task_not_exist", "data": None}
    else:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_auth_and_unknown_routes_use_the_error_object(simulator: Simulator, http: httpx.Client, dialect: str) -> None:
    simulator.configure(dialect=dialect)
    missing = httpx.post(simulator.base_url + "/v1/videos", json=BODY)
    assert missing.status_code == 401
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    unknown = http.get("/v1/nowhere")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"


def test_validation_errors_match_the_family(simulator: Simulator, http: httpx.Client) -> None:
    gateway = http.post("/v1/video/generations", json={"prompt": "no model"})
    assert gateway.status_code == 400
    assert gateway.json() == {"code": "missing_model", "message": "model field is required", "data": None}
    openai_style = http.post("/v1/videos", json={"prompt": "x", "size": "big"})
    assert openai_style.status_code == 400
    assert openai_style.json()["error"]["param"] == "size"
    assert openai_style.json()["error"]["code"] == "invalid_size"
    assert simulator.ledger()["creates"] == 0


def test_generations_polls_stay_wrapped_in_the_video_object_dialect(simulator: Simulator, http: httpx.Client) -> None:
    created, pending, done = _run(simulator, http, "video-object", "generations")
    assert created["task_id"] == created["id"]
    assert pending["data"]["status"] == "QUEUED"
    assert done["data"]["status"] == "SUCCESS"


@pytest.mark.parametrize("dialect", ["envelope", "taskdto"])
def test_gateway_remix_of_an_unknown_task_is_task_not_exist(
    simulator: Simulator, http: httpx.Client, dialect: str
) -> None:
    simulator.configure(dialect=dialect)
    response = http.post("/v1/videos/video_missing/remix", json={"prompt": "again"})
    assert response.status_code == 400
    assert response.json()["code"] == "task_not_exist"


def test_status_lag_in_the_old_taskdto(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(dialect="taskdto", latency=1, status_lag=3)
    task_id = http.post("/v1/video/generations", json=BODY).json()["id"]
    simulator.advance(2)
    lagging = http.get(f"/v1/video/generations/{task_id}").json()["data"]
    assert (lagging["status"], lagging["progress"]) == ("NOT_START", "0%")
    simulator.advance(1)
    assert http.get(f"/v1/video/generations/{task_id}").json()["data"]["status"] == "SUCCESS"
