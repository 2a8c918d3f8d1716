"""Response shapes: how each dialect and route family renders a task and an error.

Dialects (one per simulator, switchable at run time):

- ``openai``: the bare OpenAI ``Video`` object on ``/v1/videos`` (the default; what the official SDK expects).
- ``envelope``: Crazyrouter's fork, ``{"code":"success","message":"","data":{...}}`` with upper-case statuses
  (``NOT_START``, ``QUEUED``, ``IN_PROGRESS``, ``SUCCESS``, ``FAILURE``), ``"NN%"`` progress and
  ``result_url``/``artifact_url``.
- ``taskdto``: new-api before 2026-02-22: creates answer the bare upstream object (no ``task_id``); every
  poll answers the old TaskDto in the envelope, with the result URL in ``fail_reason`` on ``SUCCESS``.
- ``video-object``: the documented ``{"status":"processing"|"completed"|"failed","video":{url,duration,width,
  height}}`` shape.

Families 1 and 2 keep their gateway shape whatever the dialect, as the real gateway does:
``GET /v1/video/generations/{id}`` is always the envelope around the current TaskDto (whose ``id`` is an
integer row id, a trap the reference warns about), except in ``taskdto`` where it is the old TaskDto; its
create answers the OpenAI object plus ``task_id`` (the fork's envelope in ``envelope``). Family 2 in
``openai`` answers the older unified shape ``{"id","task_id","status","status_update_time","video_url"}``
with status ``processing``, ``completed`` or ``failed``.
Task errors (unknown id, bad request) use ``{"code","message","data":null}`` on families 1 and 2 and in the
gateway dialects (unknown id: HTTP 400 ``task_not_exist``); ``/v1/videos`` in ``openai`` and ``video-object``
uses the OpenAI error object (unknown id: HTTP 404). Auth, rate-limit and unknown-route errors always use the
``{"error":{"message","type","param","code"}}`` object. The OpenAI-only extras (list, delete, characters)
answer in the OpenAI shape in every dialect, and content errors use the ``{"error":{...}}`` object, as the
gateway's video proxy does.
"""

from __future__ import annotations

from typing import Any

from renderkit.simulator.faults import FAIL_MESSAGES
from renderkit.simulator.tasks import State, Task

Body = dict[str, Any]
GENERATIONS, UNIFIED, VIDEOS = "generations", "unified", "videos"
UPPER = {
    "not_start": "NOT_START",
    "queued": "QUEUED",
    "in_progress": "IN_PROGRESS",
    "completed": "SUCCESS",
    "failed": "FAILURE",
}


def content_url(base: str, task: Task) -> str:
    """Where the finished video is served: the content route, or a signed file URL that expires."""
    if task.url_ttl is not None:
        return f"{base}/files/{task.id}.mp4?expires={int(task.created_wall + task.latency + task.url_ttl)}"
    return f"{base}/v1/videos/{task.id}/content"


def failure(task: Task) -> tuple[str, str]:
    """The error code and message of a failed task."""
    code = task.fail or "internal_error"
    message = FAIL_MESSAGES.get(code, f"The render failed: {code}.")
    return code, f"{message} (request made with key {task.owner})" if task.echo_key else message


def openai_video(task: Task, st: State) -> Body:
    """The OpenAI ``Video`` object (``unknown`` while the gateway has not started the task)."""
    body: Body = {
        "id": task.id,
        "object": "video",
        "model": task.request.model,
        "status": "unknown" if st.status == "not_start" else st.status,
        "progress": st.progress,
        "created_at": int(task.created_wall),
        "completed_at": st.completed_at,
        "expires_at": st.expires_at,
        "prompt": task.request.prompt,
        "size": task.request.size,
        "seconds": str(task.request.seconds),
        "remixed_from_video_id": task.remixed_from,
        "error": None,
    }
    if st.status == "failed":
        code, message = failure(task)
        body["error"] = {"code": code, "message": message}
    if task.private:
        body["private"] = True
    return body


def _upstream(task: Task, st: State, base: str) -> Body:
    """The reseller upstream's body that the gateway nests at ``data.data``."""
    body = openai_video(task, st)
    if st.status == "completed":
        url = content_url(base, task)
        body.update(url=url, video_url=url, thumbnail_url=f"{url}?variant=thumbnail")
        body["spritesheet_url"] = f"{url}?variant=spritesheet"
    return body


def _times(task: Task, st: State) -> Body:
    return {
        "submit_time": int(task.created_wall),
        "start_time": st.started_at or 0,
        "finish_time": st.completed_at or 0,
    }


def _reason(task: Task, st: State) -> str:
    return failure(task)[1] if st.status == "failed" else ""


def _taskdto_old(task: Task, st: State, base: str) -> Body:
    status = UPPER[st.status]
    return {
        "task_id": task.id,
        "action": task.action,
        "status": status,
        "fail_reason": content_url(base, task) if status == "SUCCESS" else _reason(task, st),
        **_times(task, st),
        "progress": f"{st.progress}%",
        "data": _upstream(task, st, base),
    }


def _taskdto_current(task: Task, st: State, base: str) -> Body:
    body: Body = {
        "id": task.seq,
        "task_id": task.id,
        "created_at": int(task.created_wall),
        "updated_at": st.completed_at or st.started_at or int(task.created_wall),
        "platform": "55",
        "action": task.action,
        "status": UPPER[st.status],
        "fail_reason": _reason(task, st),
        **_times(task, st),
        "progress": f"{st.progress}%",
        "properties": {
            "input": task.request.prompt,
            "upstream_model_name": task.request.model,
            "origin_model_name": task.request.model,
        },
        "data": _upstream(task, st, base),
    }
    if st.status == "completed":
        body["result_url"] = content_url(base, task)
    return body


def _fork(task: Task, st: State, base: str) -> Body:
    body: Body = {
        "id": task.id,
        "task_id": task.id,
        "model": task.request.model,
        "status": UPPER[st.status],
        "progress": f"{st.progress}%",
        "created_at": int(task.created_wall),
        "size": task.request.size,
        "seconds": str(task.request.seconds),
    }
    if st.status == "completed":
        url = content_url(base, task)
        body.update(result_url=url, artifact_url=url, url=url, expires_at=st.expires_at)
    elif st.status == "failed":
        code, message = failure(task)
        body.update(fail_reason=message, error={"code": code, "message": message})
    return body


def _video_object(task: Task, st: State, base: str) -> Body:
    status = st.status if st.status in ("completed", "failed") else "processing"
    body: Body = {"id": task.id, "object": "video", "status": status, "created_at": int(task.created_wall)}
    if status == "completed":
        req = task.request
        body["video"] = {
            "url": content_url(base, task),
            "duration": req.seconds,
            "width": req.width,
            "height": req.height,
        }
    elif status == "failed":
        code, message = failure(task)
        body["error"] = {"code": code, "message": message}
    return body


def _unified_legacy(task: Task, st: State, base: str, now_wall: float) -> Body:
    status = st.status if st.status in ("completed", "failed") else "processing"
    body: Body = {
        "id": task.id,
        "task_id": task.id,
        "status": status,
        "progress": st.progress,
        "status_update_time": int(now_wall),
    }
    if status == "completed":
        body["video_url"] = content_url(base, task)
    elif status == "failed":
        code, message = failure(task)
        body["error"] = {"code": code, "message": message}
    return body


def envelope(data: Body) -> Body:
    """Wrap in the gateway's success envelope."""
    return {"code": "success", "message": "", "data": data}


def task_body(dialect: str, family: str, task: Task, st: State, base: str, now_wall: float, *, create: bool) -> Body:
    """The body that answers a create or a poll of ``task``."""
    if dialect == "taskdto":
        return openai_video(task, st) if create else envelope(_taskdto_old(task, st, base))
    if family == GENERATIONS:
        if not create:
            return envelope(_taskdto_current(task, st, base))
        return (
            envelope(_fork(task, st, base)) if dialect == "envelope" else {**openai_video(task, st), "task_id": task.id}
        )
    if dialect == "envelope":
        return envelope(_fork(task, st, base))
    if dialect == "video-object":
        return _video_object(task, st, base)
    if family == UNIFIED:
        return _unified_legacy(task, st, base, now_wall)
    return openai_video(task, st)


def uses_task_envelope(dialect: str, family: str) -> bool:
    """Whether task errors take the ``{"code","message","data":null}`` shape."""
    return family in (GENERATIONS, UNIFIED) or dialect in ("envelope", "taskdto")


def task_error(code: str, message: str) -> Body:
    """The task handler's error envelope."""
    return {"code": code, "message": message, "data": None}


def api_error(message: str, *, type_: str, code: str | None = None, param: str | None = None) -> Body:
    """The OpenAI-style error object."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
