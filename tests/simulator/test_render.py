"""Rendered media: real, fully decodable H.264 of the requested size and length, unique unless seeded."""

from __future__ import annotations

import io

import av
import httpx
import pytest
from PIL import Image

from renderkit.simulator import Simulator, render
from renderkit.simulator.inputs import InvalidRequest, RenderRequest, Shot
from renderkit.simulator.lru import BytesLRU
from renderkit.simulator.render import probe_video, render_spritesheet, render_thumbnail, render_video
from tests.fixtures.sim import FAST
from tests.simulator.helpers import decode


def _request(prompt: str = "a lighthouse", size: tuple[int, int] = (320, 240), seconds: int = 1) -> RenderRequest:
    return RenderRequest("sora-2", size[0], size[1], (Shot(prompt, seconds),))


@pytest.mark.parametrize(
    ("size", "seconds", "fps"),
    [((720, 1280), 4, 24), ((1792, 1024), 1, 24), ((1280, 720), 2, 30), ((16, 16), 1, 1)],
)
def test_every_frame_decodes_at_the_requested_size_and_length(size: tuple[int, int], seconds: int, fps: int) -> None:
    decoded = decode(render_video(_request(size=size, seconds=seconds), "stamp", fps))
    assert (decoded.width, decoded.height) == size
    assert decoded.frames == seconds * fps
    assert decoded.seconds == pytest.approx(seconds, abs=0.05)
    assert decoded.comment == "stamp"


def test_the_same_stamp_renders_the_same_bytes_and_another_differs() -> None:
    req = _request()
    assert render_video(req, "task_a", 12) == render_video(req, "task_a", 12)
    assert render_video(req, "task_a", 12) != render_video(req, "task_b", 12)


def test_tasks_of_one_request_share_one_encode_and_differ_only_in_the_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    encodes: list[RenderRequest] = []
    real = render._encode

    def counting(req: RenderRequest, fps: int) -> bytes:
        encodes.append(req)
        return real(req, fps)

    monkeypatch.setattr(render, "_ENCODES", render._Encodes(render.ENCODED_BUDGET))
    monkeypatch.setattr(render, "_encode", counting)
    req = _request("shared encode")
    first, second = render_video(req, "task_a", 4), render_video(req, "task_b", 4)
    assert len(encodes) == 1
    assert (decode(first).comment, decode(second).comment) == ("task_a", "task_b")
    assert _pixels(first) == _pixels(second)
    assert decode(second).frames == 4
    render_video(_request("another prompt"), "task_c", 4)
    assert len(encodes) == 2


def test_encodes_past_the_budget_are_dropped_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    encodes = render._Encodes(budget=1)
    monkeypatch.setattr(render, "_ENCODES", encodes)
    one, two = _request("one"), _request("two")
    render_video(one, "a", 2)
    render_video(two, "b", 2)
    assert len(encodes.done) == 1
    assert (two.fingerprint(), 2) in encodes.done


def _pixels(data: bytes) -> list[bytes]:
    with av.open(io.BytesIO(data), "r") as container:
        return [b"".join(bytes(plane) for plane in frame.planes) for frame in container.decode(video=0)]


def test_long_prompts_and_words_still_render() -> None:
    prompt = "x" * 500 + " " + "a very long prompt " * 200
    assert decode(render_video(_request(prompt, size=(64, 64)), "s", 2)).frames == 2


def test_thumbnail_and_spritesheet() -> None:
    req = _request(size=(1280, 720), seconds=4)
    with Image.open(io.BytesIO(render_thumbnail(req, "s"))) as thumb:
        assert (thumb.format, thumb.size) == ("WEBP", (1280, 720))
    with Image.open(io.BytesIO(render_spritesheet(req, "s", 24))) as sheet:
        assert (sheet.format, sheet.size) == ("JPEG", (5 * 160, 5 * 90))


def test_probe_reads_uploads_and_refuses_garbage() -> None:
    assert probe_video(render_video(_request(size=(320, 240), seconds=2), "s", 10), "video") == (320, 240, 2)
    with pytest.raises(InvalidRequest, match="not a readable video"):
        probe_video(b"\x00" * 100, "video")


def _download(sim: Simulator, body: dict[str, str]) -> tuple[str, bytes]:
    with sim.client() as client:
        video_id = client.post("/v1/videos", json=body).json()["id"]
        sim.advance(sim.config.latency)
        return video_id, client.get(f"/v1/videos/{video_id}/content").content


def test_two_renders_of_one_request_differ_like_a_real_model(simulator: Simulator) -> None:
    body = {"prompt": "same request", "size": "320x240", "seconds": "1"}
    (first_id, first), (second_id, second) = _download(simulator, body), _download(simulator, body)
    assert first != second
    assert (decode(first).comment, decode(second).comment) == (first_id, second_id)


def test_a_fixed_seed_makes_renders_and_ids_repeatable(make_simulator) -> None:
    body = {"prompt": "same request", "size": "320x240", "seconds": "1"}
    one, two = make_simulator(seed=42), make_simulator(seed=42)
    (id_a, bytes_a), (id_b, bytes_b) = _download(one, body), _download(one, body)
    assert bytes_a == bytes_b
    assert id_a != id_b
    assert _download(two, body) == (id_a, bytes_a)
    assert _download(one, {**body, "prompt": "another request"})[1] != bytes_a


def test_remix_renders_and_refuses_bad_sources(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=0)
    source = http.post("/v1/videos", json={"prompt": "a", "size": "320x240", "seconds": "1"}).json()["id"]
    remix = http.post(f"/v1/videos/{source}/remix", json={"prompt": "b"}).json()
    assert decode(http.get(f"/v1/videos/{remix['id']}/content").content).frames == FAST.fps
    assert http.post(f"/v1/videos/{source}/remix", json={}).status_code == 400
    assert http.post("/v1/videos/video_missing/remix", json={"prompt": "b"}).status_code == 404


def test_kept_bytes_past_the_budget_go_least_recently_used_first() -> None:
    kept = BytesLRU(budget=10)
    kept.put("a", b"a" * 4)
    kept.put("b", b"b" * 4)
    assert kept.get("a") == b"a" * 4, "a is now the most recently used"
    kept.put("c", b"c" * 4)
    assert ("a" in kept, "b" in kept, "c" in kept) == (True, False, True)
    kept.put("big", b"w" * 50)
    assert (len(kept), kept.get("big")) == (1, b"w" * 50), "one item over the budget is kept alone"
    kept.put("big", b"other")
    assert kept.get("big") == b"w" * 50
