"""Per-key limits: creates per minute and unfinished tasks, answered 429 with retry hints."""

from __future__ import annotations

import httpx

from renderkit.simulator import Simulator


def test_rpm_refuses_with_retry_after_and_frees_after_the_window(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(rpm=2)
    assert [http.post("/v1/videos", json={"prompt": "p"}).status_code for _ in range(2)] == [200, 200]
    refused = http.post("/v1/videos", json={"prompt": "p"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 59 <= int(refused.headers["retry-after"]) <= 60
    assert 59_000 <= int(refused.headers["retry-after-ms"]) <= 60_000
    with simulator.client("sk-other") as other:
        assert other.post("/v1/videos", json={"prompt": "p"}).status_code == 200  # limits are per key
    simulator.advance(60)
    assert http.post("/v1/videos", json={"prompt": "p"}).status_code == 200
    assert simulator.ledger()["creates"] == 4


def test_reads_are_not_rate_limited(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(rpm=1)
    video_id = http.post("/v1/videos", json={"prompt": "p"}).json()["id"]
    assert {http.get(f"/v1/videos/{video_id}").status_code for _ in range(5)} == {200}


def test_max_in_flight_counts_unfinished_tasks(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(max_in_flight=2, latency=30)
    http.post("/v1/videos", json={"prompt": "a"})
    simulator.advance(10)
    http.post("/v1/videos", json={"prompt": "b"})
    refused = http.post("/v1/video/generations", json={"model": "sora-2", "prompt": "c"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"
    simulator.advance(20)
    assert http.post("/v1/video/generations", json={"model": "sora-2", "prompt": "c"}).status_code == 200


def test_a_refused_create_does_not_use_up_the_window(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(rpm=1, max_in_flight=1, latency=5)
    assert http.post("/v1/videos", json={"prompt": "a"}).status_code == 200
    simulator.advance(60)
    assert http.post("/v1/videos", json={"prompt": "b"}).status_code == 200
    assert http.post("/v1/videos", json={"prompt": "c"}).status_code == 429
    assert simulator.ledger()["creates"] == 2


def test_api_keys_are_checked_when_configured(simulator: Simulator) -> None:
    simulator.configure(api_keys=("sk-a", "sk-b"))
    for key, status in (("sk-a", 200), ("sk-b", 200), ("sk-c", 401), ("", 401)):
        with simulator.client(key) as client:
            assert client.post("/v1/videos", json={"prompt": "p"}).status_code == status
    ledger = simulator.ledger()
    assert ledger["creates"] == 2
    assert ledger["responses"] == {"200": 2, "401": 2}
