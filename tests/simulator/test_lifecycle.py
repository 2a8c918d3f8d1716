"""Task lifecycle: queued, in_progress with rising progress, completed or failed, then expiry."""

from __future__ import annotations

import httpx
import pytest

from renderkit.simulator import Simulator
from tests.simulator.helpers import completed


def test_status_and_progress_follow_the_clock(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=100)
    video = http.post("/v1/videos", json={"prompt": "slow render"}).json()
    seen = [http.get(f"/v1/videos/{video['id']}").json()]
    for step in (20, 20, 30, 29, 1):
        simulator.advance(step)
        seen.append(http.get(f"/v1/videos/{video['id']}").json())
    assert [s["status"] for s in seen] == ["queued", "queued", "in_progress", "in_progress", "in_progress", "completed"]
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress)
    assert progress[0] == 0
    assert 0 < progress[2] < progress[4] < 100
    assert progress[-1] == 100
    done = seen[-1]
    assert done["completed_at"] - done["created_at"] == 100
    assert done["expires_at"] - done["completed_at"] == 3600


def test_pending_answers_carry_the_poll_hint_and_finished_ones_do_not(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=10)
    video_id = http.post("/v1/videos", json={"prompt": "hint"}).json()["id"]
    pending = http.get(f"/v1/videos/{video_id}")
    assert pending.headers["openai-poll-after-ms"] == "1000"
    simulator.advance(10)
    assert "openai-poll-after-ms" not in http.get(f"/v1/videos/{video_id}").headers


def test_results_expire_after_the_ttl(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=1, ttl=60)
    video_id = http.post("/v1/videos", json={"prompt": "fleeting"}).json()["id"]
    simulator.advance(1)
    assert http.get(f"/v1/videos/{video_id}/content").status_code == 200
    simulator.advance(60)
    gone = http.get(f"/v1/videos/{video_id}/content")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "video_expired"
    assert http.get(f"/v1/videos/{video_id}").json()["status"] == "completed"


def test_status_lag_answers_unknown_then_the_real_state(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=1, status_lag=5)
    video_id = http.post("/v1/videos", json={"prompt": "lagging"}).json()["id"]
    simulator.advance(2)
    assert http.get(f"/v1/videos/{video_id}").json()["status"] == "unknown"
    simulator.configure(dialect="envelope")
    assert http.get(f"/v1/videos/{video_id}").json()["data"]["status"] == "NOT_START"
    simulator.advance(3)
    assert http.get(f"/v1/videos/{video_id}").json()["data"]["status"] == "SUCCESS"


def test_content_before_completion_is_refused(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=10)
    video_id = http.post("/v1/videos", json={"prompt": "not yet"}).json()["id"]
    early = http.get(f"/v1/videos/{video_id}/content")
    assert early.status_code == 400
    assert "current status: QUEUED" in early.json()["error"]["message"]


@pytest.mark.parametrize("latency", [0.0, 0.2])
def test_real_time_latency_completes_without_advancing(
    simulator: Simulator, http: httpx.Client, latency: float
) -> None:
    simulator.configure(latency=latency)
    video_id = http.post("/v1/videos", json={"prompt": "real time"}).json()["id"]
    assert completed(http, video_id)["status"] == "completed"
