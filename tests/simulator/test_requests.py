"""Create requests: JSON and multipart, every family's field names, and bad input refused before charging."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from renderkit.simulator import Simulator
from tests.fixtures.sim import FAST
from tests.simulator.helpers import decode, frame_pixel, png


def _done(simulator: Simulator, http: httpx.Client, create: httpx.Response) -> tuple[dict[str, object], bytes]:
    assert create.status_code == 200, create.text
    video = create.json()
    simulator.advance(simulator.config.latency)
    content = http.get(f"/v1/videos/{video['id']}/content")
    assert content.status_code == 200
    return video, content.content


def test_multipart_create_with_an_input_reference_file(simulator: Simulator, http: httpx.Client) -> None:
    fields = {"prompt": "the red card comes alive", "model": "sora-2", "seconds": "4", "size": "1280x720"}
    files = {"input_reference": ("ref.png", png((230, 20, 20), (1280, 720)), "image/png")}
    video, data = _done(simulator, http, http.post("/v1/videos", data=fields, files=files))
    assert (video["size"], video["seconds"], video["prompt"]) == ("1280x720", "4", fields["prompt"])
    red, green, blue = frame_pixel(data, "first", (0.5, 0.8))
    assert red > 180
    assert green < 80
    assert blue < 80


def test_image_url_data_urls_are_rendered(simulator: Simulator, http: httpx.Client) -> None:
    image = "data:image/png;base64," + base64.b64encode(png((20, 20, 230), (720, 1280))).decode()
    body = {"prompt": "blue", "image_url": image, "size": "720x1280", "seconds": 4}
    _, data = _done(simulator, http, http.post("/v1/videos", json=body))
    assert frame_pixel(data, "last", (0.5, 0.8))[2] > 180


def test_a_remote_image_url_is_accepted_without_fetching(simulator: Simulator, http: httpx.Client) -> None:
    body = {"model": "sora-2", "prompt": "p", "images": ["https://example.invalid/x.png"]}
    created = http.post("/v1/video/generations", json=body)
    assert created.status_code == 200
    simulator.advance(simulator.config.latency)
    dto = http.get(f"/v1/video/generations/{created.json()['id']}").json()["data"]
    assert dto["action"] == "generate"


def test_storyboard_is_one_video_whose_length_is_the_sum(simulator: Simulator, http: httpx.Client) -> None:
    board = [
        {"prompt": "wide shot of a forest at dawn", "duration": 3},
        {"prompt": "a deer walks into frame", "seconds": "2"},
    ]
    body = {"model": "sora-2", "storyboard": board, "size": "640x360"}
    video, data = _done(simulator, http, http.post("/v1/videos", json=body))
    assert video["seconds"] == "5"
    assert video["prompt"] == "wide shot of a forest at dawn | a deer walks into frame"
    decoded = decode(data)
    assert decoded.frames == 5 * FAST.fps
    assert decoded.seconds == pytest.approx(5.0)
    # Each shot has its own background colour: the first and last frames differ where no text is drawn.
    assert frame_pixel(data, "first", (0.5, 0.75)) != frame_pixel(data, "last", (0.5, 0.75))
    assert simulator.ledger()["paid_seconds"] == 5


def test_storyboard_sent_as_a_multipart_json_string(simulator: Simulator, http: httpx.Client) -> None:
    board = json.dumps([{"prompt": "one", "seconds": 1}, {"prompt": "two", "seconds": 1}])
    created = http.post("/v1/videos", data={"storyboard": board, "size": "320x240"})
    assert created.json()["seconds"] == "2"


@pytest.mark.parametrize(
    ("extra", "size", "seconds"),
    [
        ({"seconds": 8}, "720x1280", "8"),
        ({"seconds": "12", "duration": 5}, "720x1280", "12"),
        ({"duration": "5"}, "720x1280", "5"),
        ({"aspect_ratio": "16:9"}, "1280x720", "4"),
        ({"aspect_ratio": "9:16"}, "720x1280", "4"),
        ({"size": "720P", "aspect_ratio": "16:9"}, "1280x720", "4"),
        ({"size": "1920x1080", "private": True}, "1920x1080", "4"),
    ],
)
def test_gateway_extras_are_honoured(http: httpx.Client, extra: dict[str, object], size: str, seconds: str) -> None:
    body = http.post("/v1/videos", json={"prompt": "p", **extra}).json()
    assert (body["size"], body["seconds"]) == (size, seconds)
    assert body.get("private", False) is bool(extra.get("private"))


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "sora-2"}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 32001}, "prompt"),
        ({"prompt": "p", "seconds": "4.5"}, "seconds"),
        ({"prompt": "p", "seconds": True}, "seconds"),
        ({"prompt": "p", "seconds": "0"}, None),  # zero falls back to the default, like the gateway
        ({"prompt": "p", "seconds": "61"}, "seconds"),
        ({"prompt": "p", "size": "1281x720"}, "size"),
        ({"prompt": "p", "size": "4096x4096"}, "size"),
        ({"prompt": "p", "aspect_ratio": "2:1"}, "aspect_ratio"),
        ({"prompt": "p", "input_reference": "https://x/y.png"}, "input_reference"),
        ({"prompt": "p", "image_url": "data:image/png;base64,AAAA"}, "image_url"),
        ({"prompt": "p", "image_url": "data:image/png;base64,!!"}, "image_url"),
        ({"storyboard": []}, "storyboard"),
        ({"storyboard": [{"prompt": "no length"}]}, "storyboard[0]"),
        ({"storyboard": [{"prompt": "long", "seconds": 40}, {"prompt": "longer", "seconds": 40}]}, "storyboard"),
    ],
)
def test_bad_creates_are_refused_and_not_charged(
    simulator: Simulator, http: httpx.Client, body: dict[str, object], param: str | None
) -> None:
    response = http.post("/v1/videos", json=body)
    if param is None:
        assert response.status_code == 200
        assert response.json()["seconds"] == "4"
        return
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert simulator.ledger()["creates"] == 0


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"--x\r\nbroken", "multipart/form-data")],
)
def test_unreadable_bodies_are_400(http: httpx.Client, content: bytes, kind: str) -> None:
    response = http.post("/v1/video/generations", content=content, headers={"content-type": kind})
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_json", "invalid_request")


def test_unreadable_input_reference_file_is_400(http: httpx.Client) -> None:
    files = {"input_reference": ("x.png", b"not an image", "image/png")}
    response = http.post("/v1/videos", data={"prompt": "p"}, files=files)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input_reference"


def test_unified_query_takes_id_or_task_id(simulator: Simulator, http: httpx.Client) -> None:
    task_id = http.post("/v1/video/create", json={"model": "veo-3.1-fast", "prompt": "p", "duration": 8}).json()["id"]
    assert http.get("/v1/video/query", params={"id": task_id}).json()["task_id"] == task_id
    assert http.get("/v1/video/query", params={"task_id": task_id}).json()["task_id"] == task_id
    missing = http.get("/v1/video/query")
    assert missing.status_code == 400
    assert missing.json()["data"] is None


def test_tasks_are_private_to_their_key(simulator: Simulator, http: httpx.Client) -> None:
    video_id = http.post("/v1/videos", json={"prompt": "mine"}).json()["id"]
    with simulator.client("sk-other") as other:
        assert other.get(f"/v1/videos/{video_id}").status_code == 404
        assert other.get("/v1/videos").json()["data"] == []
    assert http.get(f"/v1/videos/{video_id}").status_code == 200


def test_x_api_key_header_is_accepted(simulator: Simulator) -> None:
    response = httpx.post(simulator.base_url + "/v1/videos", json={"prompt": "p"}, headers={"x-api-key": "sk-1"})
    assert response.status_code == 200


def test_models_route_and_unknown_models(simulator: Simulator, http: httpx.Client) -> None:
    assert "sora-2" in [m["id"] for m in http.get("/v1/models").json()["data"]]
    simulator.configure(models=["veo-3.1-fast"])
    assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["veo-3.1-fast"]
    refused = http.post("/v1/video/create", json={"model": "sora-2", "prompt": "p"})
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "model_not_found"
    assert http.post("/v1/video/create", json={"model": "veo-3.1-fast", "prompt": "p"}).status_code == 200
    assert simulator.ledger()["creates"] == 1
