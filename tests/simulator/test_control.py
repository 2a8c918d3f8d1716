"""The ledger and the runtime controls, over HTTP and through the Python handle."""

from __future__ import annotations

import threading

import httpx
import pytest

from renderkit.simulator import SimConfig, Simulator


def test_ledger_route_counts_route_templates(simulator: Simulator, http: httpx.Client) -> None:
    video_id = http.post("/v1/videos", json={"prompt": "p", "seconds": "8"}).json()["id"]
    http.get(f"/v1/videos/{video_id}")
    http.get("/v1/videos/video_missing")
    http.get("/nope")
    ledger = httpx.get(simulator.base_url + "/_sim/ledger").json()
    assert ledger == simulator.ledger()
    assert ledger["creates"] == 1
    assert ledger["paid_seconds"] == 8
    assert ledger["requests"] == {
        "GET /v1/videos/{video_id}": 2,
        "POST /v1/videos": 1,
        "GET <unmatched>": 1,
    }
    assert ledger["responses"] == {"200": 2, "404": 2}


def test_wait_for_wakes_on_a_ledger_change(simulator: Simulator, http: httpx.Client) -> None:
    worker = threading.Thread(target=lambda: http.post("/v1/videos", json={"prompt": "p"}))
    worker.start()
    ledger = simulator.wait_for(lambda led: led["creates"] == 1, timeout=10)
    worker.join()
    assert ledger["creates"] == 1
    with pytest.raises(TimeoutError):
        simulator.wait_for(lambda led: led["creates"] == 2, timeout=0.05)


def test_control_routes(simulator: Simulator, http: httpx.Client) -> None:
    base = simulator.base_url
    assert httpx.post(base + "/_sim/faults", json={"spec": "list:503"}).json() == {"faults": ["list:503"]}
    assert httpx.get(base + "/_sim/faults").json() == {"faults": ["list:503"]}
    assert http.get("/v1/videos").status_code == 503
    assert httpx.delete(base + "/_sim/faults").json() == {"faults": []}
    assert httpx.post(base + "/_sim/config", json={"dialect": "envelope", "latency": 5}).status_code == 200
    video = http.post("/v1/videos", json={"prompt": "p"}).json()["data"]
    assert httpx.post(base + "/_sim/advance", json={"seconds": 5}).status_code == 200
    assert http.get(f"/v1/videos/{video['id']}").json()["data"]["status"] == "SUCCESS"
    assert httpx.post(base + "/_sim/reset").status_code == 200
    assert simulator.ledger()["creates"] == 0
    # Reset forgets tasks but keeps the settings: the envelope dialect answers task_not_exist.
    assert http.get(f"/v1/videos/{video['id']}").json()["code"] == "task_not_exist"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_sim/faults", {"spec": "bad"}),
        ("POST", "/_sim/faults", {}),
        ("POST", "/_sim/config", {"dialect": "klingon"}),
        ("POST", "/_sim/config", {"port": 1}),
        ("POST", "/_sim/config", {"colour": "red"}),
        ("POST", "/_sim/advance", {"seconds": -1}),
        ("POST", "/_sim/advance", {"seconds": "soon"}),
    ],
)
def test_bad_control_requests_are_400(simulator: Simulator, method: str, path: str, body: dict[str, object]) -> None:
    response = httpx.request(method, simulator.base_url + path, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_control"


def test_unknown_control_route_is_404(simulator: Simulator) -> None:
    assert httpx.get(simulator.base_url + "/_sim/nothing").status_code == 404


def test_configure_keeps_the_address_and_validates(simulator: Simulator) -> None:
    with pytest.raises(ValueError, match="cannot change while running"):
        simulator.configure(host="127.0.0.2")
    with pytest.raises(ValueError, match="unknown dialect"):
        simulator.configure(dialect="xml")
    assert simulator.configure(dialect="taskdto", api_keys=["k"]).api_keys == ("k",)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"host": "::"}, "non-loopback"),
        ({"host": "203.0.113.5"}, "non-loopback"),  # TEST-NET-3: documentation only, never routed
        ({"dialect": "soap"}, "unknown dialect"),
        ({"latency": -1}, "latency"),
        ({"rpm": 0}, "rpm"),
        ({"rate_window": 0}, "rate_window"),
        ({"fps": 0}, "fps"),
        ({"port": 70000}, "port"),
        ({"api_keys": ("",)}, "non-empty"),
        ({"models": ("",)}, "non-empty"),
        ({"faults": ("nope",)}, "fault"),
    ],
)
def test_bad_configs_are_refused(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**config)  # type: ignore[arg-type]


def test_remote_hosts_need_explicit_consent() -> None:
    assert SimConfig(host="203.0.113.5", allow_remote=True).host == "203.0.113.5"  # validated, never bound
    assert SimConfig(host="localhost").host == "localhost"
    assert SimConfig(host="::1").host == "::1"


def test_a_simulator_starts_once_and_reports_its_url(make_simulator) -> None:
    sim = make_simulator()
    assert sim.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError, match="starts once"):
        sim.start()
    sim.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.base_url
