"""Downloads: variants, byte ranges, ETags, padding to a size and truncated bodies."""

from __future__ import annotations

import io
import struct
from concurrent.futures import ThreadPoolExecutor

import av
import httpx
import pytest

from renderkit.simulator import Simulator
from tests.fixtures.sim import FAST
from tests.simulator.helpers import decode


@pytest.fixture
def video_id(simulator: Simulator, http: httpx.Client) -> str:
    """A completed 1280x720 4 s video."""
    simulator.configure(latency=1)
    found: str = http.post("/v1/videos", json={"prompt": "download me", "size": "1280x720"}).json()["id"]
    simulator.advance(1)
    return found


def test_variants_have_their_media_types(http: httpx.Client, video_id: str) -> None:
    kinds = {}
    for variant in ("video", "thumbnail", "spritesheet"):
        response = http.get(f"/v1/videos/{video_id}/content", params={"variant": variant})
        assert response.status_code == 200
        kinds[variant] = (response.headers["content-type"], response.content[:12])
    assert kinds["video"][0] == "video/mp4"
    assert kinds["video"][1][4:8] == b"ftyp"
    assert kinds["thumbnail"][0] == "image/webp"
    assert kinds["thumbnail"][1][8:12] == b"WEBP"
    assert kinds["spritesheet"][0] == "image/jpeg"
    assert kinds["spritesheet"][1][:3] == b"\xff\xd8\xff"
    assert http.get(f"/v1/videos/{video_id}/content", params={"variant": "poster"}).status_code == 400


def test_sdk_accept_header_is_not_refused(http: httpx.Client, video_id: str) -> None:
    response = http.get(f"/v1/videos/{video_id}/content", headers={"accept": "application/binary"})
    assert response.status_code == 200


def test_ranges_resume_to_the_same_bytes(http: httpx.Client, video_id: str) -> None:
    full = http.get(f"/v1/videos/{video_id}/content")
    size = len(full.content)
    head = http.get(f"/v1/videos/{video_id}/content", headers={"range": "bytes=0-999"})
    tail = http.get(f"/v1/videos/{video_id}/content", headers={"range": "bytes=1000-"})
    assert (head.status_code, tail.status_code) == (206, 206)
    assert head.headers["content-range"] == f"bytes 0-999/{size}"
    assert tail.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    assert head.content + tail.content == full.content
    suffix = http.get(f"/v1/videos/{video_id}/content", headers={"range": "bytes=-10"})
    assert suffix.content == full.content[-10:]
    assert full.headers["etag"] == head.headers["etag"]
    assert full.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(http: httpx.Client, video_id: str, header: str) -> None:
    response = http.get(f"/v1/videos/{video_id}/content", headers={"range": header})
    assert response.status_code == 416
    assert response.headers["content-range"].startswith("bytes */")


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=x-y"])
def test_ranges_we_do_not_serve_get_the_whole_body(http: httpx.Client, video_id: str, header: str) -> None:
    response = http.get(f"/v1/videos/{video_id}/content", headers={"range": header})
    assert response.status_code == 200
    assert decode(response.content).frames == 4 * FAST.fps


def _read_into(response: httpx.Response, into: bytearray) -> None:
    """Read raw chunks into ``into`` as they arrive, so a failure mid-body keeps what came."""
    for chunk in response.iter_raw():
        into += chunk


def _boxes(data: bytes) -> list[tuple[bytes, int]]:
    found, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        found.append((kind, size))
        pos += size
    return found


def test_padding_adds_a_free_box_and_stays_decodable(simulator: Simulator, http: httpx.Client, video_id: str) -> None:
    simulator.configure(pad_to=3_000_000)
    padded = http.get(f"/v1/videos/{video_id}/content").content
    assert len(padded) == 3_000_000
    assert [kind for kind, _ in _boxes(padded)] == [b"ftyp", b"free", b"mdat", b"free", b"moov"]
    decoded = decode(padded)
    assert (decoded.frames, decoded.width, decoded.height) == (4 * FAST.fps, 1280, 720)
    middle = http.get(f"/v1/videos/{video_id}/content", headers={"range": "bytes=1500000-1500009"})
    assert middle.content == bytes(10)


def test_large_padded_downloads_stream(simulator: Simulator, http: httpx.Client, video_id: str) -> None:
    simulator.configure(pad_to=64 << 20)
    with http.stream("GET", f"/v1/videos/{video_id}/content") as response:
        assert response.headers["content-length"] == str(64 << 20)
        sizes = [len(chunk) for chunk in response.iter_raw()]
    assert sum(sizes) == 64 << 20
    assert max(sizes) <= 1 << 20  # sent in bounded chunks, never as one buffer


@pytest.mark.parametrize("pad_to", [None, 2_000_000])
def test_truncated_downloads_fail_and_do_not_decode(
    simulator: Simulator, http: httpx.Client, video_id: str, pad_to: int | None
) -> None:
    simulator.configure(pad_to=pad_to)
    simulator.add_fault("content:truncate=0.6:@1")
    received = bytearray()
    with http.stream("GET", f"/v1/videos/{video_id}/content") as response:
        announced = int(response.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            _read_into(response, received)
    assert len(received) == int(announced * 0.6)
    with pytest.raises(av.FFmpegError):
        decode(bytes(received))
    again = http.get(f"/v1/videos/{video_id}/content")
    assert len(again.content) == announced
    assert decode(again.content).frames == 4 * FAST.fps


def test_content_of_unknown_task_is_404(http: httpx.Client) -> None:
    response = http.get("/v1/videos/video_missing/content")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Task not found"


def test_concurrent_downloads_get_identical_bytes(simulator: Simulator, video_id: str) -> None:
    def fetch(_: int) -> bytes:
        with simulator.client() as client:
            return client.get(f"/v1/videos/{video_id}/content").content

    with ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(fetch, range(4)))
    assert len(set(bodies)) == 1
    with av.open(io.BytesIO(bodies[0]), "r") as container:
        assert container.metadata["comment"] == video_id


def test_head_answers_the_length_without_a_body(simulator: Simulator, http: httpx.Client, video_id: str) -> None:
    full = http.get(f"/v1/videos/{video_id}/content")
    head = http.head(f"/v1/videos/{video_id}/content")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(full.content))
    assert head.headers["etag"] == full.headers["etag"]
    assert simulator.ledger()["requests"]["HEAD /v1/videos/{video_id}/content"] == 1


def test_signed_result_url_serves_until_it_expires(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=1, url_ttl=60)
    created = http.post("/v1/videos", json={"model": "sora-2", "prompt": "signed", "size": "1280x720"}).json()
    simulator.advance(1)
    url = http.get(f"/v1/video/generations/{created['id']}").json()["data"]["result_url"]
    assert "/files/" in url
    assert "expires=" in url
    first = http.get(url)
    assert first.status_code == 200
    assert decode(first.content).frames > 0
    simulator.advance(61)
    gone = http.get(url)
    assert gone.status_code == 403
    assert gone.json()["error"]["message"] == "Request has expired"
    assert http.get(f"/v1/videos/{created['id']}/content").content == first.content
    assert http.get(url.split("?")[0]).status_code == 404
