"""Fault specs and what each fault does on the wire; the ledger tells what was charged."""

from __future__ import annotations

import time

import httpx
import pytest

from renderkit.simulator import Simulator, parse_fault
from renderkit.simulator.faults import FaultSet

CREATE = {"prompt": "faulty"}


@pytest.mark.parametrize(
    ("spec", "kind", "routes", "when"),
    [
        ("create:503", "status", 6, (None, ())),
        ("*:drop:0.25", "drop", 16, (0.25, ())),
        ("POST /v1/videos:drop-after:@2", "drop-after", 1, (None, ((2, 2),))),
        ("content:truncate=0.3:@1,3-4,6-", "truncate", 1, (None, ((1, 1), (3, 4), (6, None)))),
        ("poll:slow=0.5", "slow", 3, (None, ())),
        ("create:fail=moderation_blocked", "fail", 6, (None, ())),
        ("GET /v1/videos/{video_id}/content:expire", "expire", 1, (None, ())),
    ],
)
def test_specs_parse(spec: str, kind: str, routes: int, when: tuple[object, object]) -> None:
    fault = parse_fault(spec)
    assert (fault.kind, len(fault.routes), (fault.rate, fault.positions)) == (kind, routes, when)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("create", "expected WHERE:KIND"),
        ("create:503:@1:x", "expected WHERE:KIND"),
        ("nowhere:503", "unknown route"),
        ("GET /v1/nothing:503", "unknown route"),
        ("create:explode", "unknown kind"),
        ("create:200", "400-599"),
        ("create:600", "400-599"),
        ("create:503=soon", "takes a number"),
        ("create:503=-1", "seconds"),
        ("create:drop=1", "takes no parameter"),
        ("content:truncate=1.5", "fraction"),
        ("content:truncate=x", "takes a number"),
        ("poll:slow=-1", "seconds"),
        ("create:fail=two words", "fail code"),
        ("create:503:1.5", "probability"),
        ("create:503:often", "WHEN"),
        ("create:503:@0", "1-based"),
        ("create:503:@3-2", "ascend"),
        ("create:503:@a", "positions"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault(spec)


def test_rate_faults_are_reproducible_with_a_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = FaultSet(("create:503:0.5",), seed)
        return [bool(faults.pick("POST /v1/videos")) for _ in range(64)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 16 < sum(pattern(7)) < 48


def test_positions_count_only_matching_requests() -> None:
    faults = FaultSet(("POST /v1/videos:503:@2,4-",), None)
    hits = [bool(faults.pick(route)) for route in ["POST /v1/videos", "GET /v1/videos", "POST /v1/videos"] * 3]
    assert hits == [False, False, True, False, False, True, True, False, True]


def test_status_fault_answers_before_anything_is_recorded(simulator: Simulator, http: httpx.Client) -> None:
    simulator.add_fault("create:503:@1")
    first = http.post("/v1/videos", json=CREATE)
    assert first.status_code == 503
    assert first.json()["error"]["type"] == "server_error"
    assert http.post("/v1/videos", json=CREATE).status_code == 200
    ledger = simulator.ledger()
    assert ledger["creates"] == 1
    assert ledger["responses"] == {"200": 1, "503": 1}
    assert ledger["faults"] == {"503": 1}


@pytest.mark.parametrize(
    ("spec", "headers"),
    [
        ("poll:429", ("1", "1000")),
        ("poll:429=0", (None, None)),
        ("poll:503", (None, None)),
        ("poll:503=2.5", ("3", "2500")),
    ],
)
def test_status_faults_announce_retry_after(
    http: httpx.Client, simulator: Simulator, spec: str, headers: tuple[str | None, str | None]
) -> None:
    simulator.add_fault(spec)
    video_id = http.post("/v1/videos", json=CREATE).json()["id"]
    response = http.get(f"/v1/videos/{video_id}")
    assert response.status_code == int(spec.split(":")[1].split("=")[0])
    assert (response.headers.get("retry-after"), response.headers.get("retry-after-ms")) == headers


def test_drop_before_recording_charges_nothing(simulator: Simulator, http: httpx.Client) -> None:
    simulator.add_fault("create:drop:@1")
    # A clean close or, when the request body was still unread, a reset: either way no answer arrives.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post("/v1/videos", json=CREATE)
    assert simulator.ledger()["creates"] == 0
    assert http.post("/v1/videos", json=CREATE).status_code == 200


def test_drop_after_recording_charges_the_create(simulator: Simulator, http: httpx.Client) -> None:
    simulator.add_fault("create:drop-after:@1")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post("/v1/videos", json=CREATE)
    ledger = simulator.ledger()
    assert (ledger["creates"], ledger["paid_seconds"]) == (1, 4)
    assert ledger["responses"] == {}
    # The task exists although the client never learned its id: listing reveals it.
    assert len(http.get("/v1/videos").json()["data"]) == 1


def test_truncated_json_bodies_fail_to_read(simulator: Simulator, http: httpx.Client) -> None:
    simulator.add_fault("list:truncate=0.5")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/v1/videos")


def test_slow_responses_wait(simulator: Simulator, http: httpx.Client) -> None:
    simulator.add_fault("list:slow=0.3")
    start = time.monotonic()
    assert http.get("/v1/videos").status_code == 200
    assert time.monotonic() - start >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        http.get("/v1/videos", timeout=0.05)


def test_failed_jobs_never_have_content(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=1)
    simulator.add_fault("create:fail:@1")
    video_id = http.post("/v1/videos", json=CREATE).json()["id"]
    simulator.advance(1)
    body = http.get(f"/v1/videos/{video_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "content_policy_violation"
    assert http.get(f"/v1/videos/{video_id}/content").status_code == 400
    assert simulator.ledger()["paid_seconds"] == 4  # accepted creates count, refunds are not modelled


def test_expire_faults(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=1)
    simulator.add_fault("create:expire:@1")
    expired_id = http.post("/v1/videos", json=CREATE).json()["id"]
    fresh_id = http.post("/v1/videos", json=CREATE).json()["id"]
    simulator.advance(1)
    assert http.get(f"/v1/videos/{expired_id}/content").status_code == 410
    assert http.get(f"/v1/videos/{fresh_id}/content").status_code == 200
    simulator.add_fault("content:expire:@1")
    assert http.get(f"/v1/videos/{fresh_id}/content").status_code == 410
    assert http.get(f"/v1/videos/{fresh_id}/content").status_code == 200


def test_unhandled_errors_become_json_500(
    simulator: Simulator, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> bytes:
        raise RuntimeError("renderer on fire")

    monkeypatch.setattr(simulator.app.media, "get", explode)
    simulator.configure(latency=0)
    video_id = http.post("/v1/videos", json=CREATE).json()["id"]
    response = http.get(f"/v1/videos/{video_id}/content")
    assert response.status_code == 500
    assert "renderer on fire" in response.json()["error"]["message"]
    assert http.get(f"/v1/videos/{video_id}").status_code == 200


def test_faults_from_config_and_clearing(make_simulator) -> None:
    sim = make_simulator(faults=("list:502",))
    with sim.client() as client:
        assert client.get("/v1/videos").status_code == 502
        sim.clear_faults()
        assert client.get("/v1/videos").status_code == 200


def test_errors_outside_handlers_are_json_500_too(
    simulator: Simulator, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(template: str) -> list[object]:
        raise RuntimeError("fault table on fire")

    monkeypatch.setattr(simulator.app.faults, "pick", explode)
    response = http.get("/v1/videos")
    assert response.status_code == 500
    assert "fault table on fire" in response.json()["error"]["message"]
