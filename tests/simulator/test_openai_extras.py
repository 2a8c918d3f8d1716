"""The OpenAI-only routes: list paging, delete, edits, extensions and characters."""

from __future__ import annotations

import httpx
import pytest

from renderkit.simulator import Simulator
from renderkit.simulator.inputs import RenderRequest, Shot
from renderkit.simulator.render import render_video


def _clip(seconds: int = 2) -> bytes:
    return render_video(RenderRequest("sora-2", 320, 240, (Shot("upload", seconds),)), "upload", 12)


def test_list_pages_with_after_limit_and_order(http: httpx.Client) -> None:
    ids = [http.post("/v1/videos", json={"prompt": f"n{i}"}).json()["id"] for i in range(5)]
    first = http.get("/v1/videos", params={"limit": 2, "order": "asc"}).json()
    assert [v["id"] for v in first["data"]] == ids[:2]
    assert (first["object"], first["first_id"], first["last_id"], first["has_more"]) == ("list", ids[0], ids[1], True)
    last = http.get("/v1/videos", params={"limit": 10, "order": "asc", "after": ids[2]}).json()
    assert [v["id"] for v in last["data"]] == ids[3:]
    assert last["has_more"] is False
    newest = http.get("/v1/videos").json()
    assert [v["id"] for v in newest["data"]] == ids[::-1]
    empty = http.get("/v1/videos", params={"limit": 0}).json()
    assert (empty["data"], empty["first_id"], empty["has_more"]) == ([], None, True)


@pytest.mark.parametrize("params", [{"limit": "101"}, {"limit": "-1"}, {"limit": "x"}, {"order": "up"}, {"after": "v"}])
def test_list_rejects_bad_parameters(http: httpx.Client, params: dict[str, str]) -> None:
    response = http.get("/v1/videos", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] in params


def test_delete_waits_for_the_video_to_finish(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=5)
    video_id = http.post("/v1/videos", json={"prompt": "p"}).json()["id"]
    assert http.delete(f"/v1/videos/{video_id}").status_code == 400
    simulator.advance(5)
    assert http.delete(f"/v1/videos/{video_id}").json() == {"id": video_id, "object": "video.deleted", "deleted": True}
    assert http.delete(f"/v1/videos/{video_id}").status_code == 404
    assert http.get("/v1/videos").json()["data"] == []


def test_edit_by_id_keeps_size_and_length(simulator: Simulator, http: httpx.Client) -> None:
    simulator.configure(latency=5)
    source = http.post("/v1/videos", json={"prompt": "src", "size": "1280x720", "seconds": "8"}).json()
    early = http.post("/v1/videos/edits", json={"prompt": "too soon", "video": {"id": source["id"]}})
    assert early.status_code == 400
    simulator.advance(5)
    edit = http.post("/v1/videos/edits", json={"prompt": "make it snow", "video": {"id": source["id"]}}).json()
    assert (edit["size"], edit["seconds"], edit["prompt"]) == ("1280x720", "8", "make it snow")
    assert simulator.ledger()["paid_seconds"] == 16


def test_extension_of_an_upload_reports_the_stitched_length(simulator: Simulator, http: httpx.Client) -> None:
    files = {"video": ("clip.mp4", _clip(2), "video/mp4")}
    ext = http.post("/v1/videos/extensions", data={"prompt": "and then", "seconds": "4"}, files=files)
    assert ext.status_code == 200, ext.text
    assert (ext.json()["size"], ext.json()["seconds"]) == ("320x240", "6")
    assert simulator.ledger()["paid_seconds"] == 4


@pytest.mark.parametrize(
    ("path", "data", "files"),
    [
        ("/v1/videos/edits", {"prompt": "p"}, None),
        ("/v1/videos/edits", {"prompt": "p", "video[id]": "video_missing"}, None),
        ("/v1/videos/edits", {"prompt": "p"}, {"video": ("x.mp4", b"not a video", "video/mp4")}),
        ("/v1/videos/extensions", {"prompt": "p", "video[id]": "video_missing"}, None),
        ("/v1/videos/extensions", {"prompt": "p"}, {"video": ("x.mp4", b"", "video/mp4")}),
        ("/v1/videos/extensions", {"prompt": "p", "seconds": "60"}, {"video": ("x.mp4", _clip(2), "video/mp4")}),
    ],
)
def test_edits_and_extensions_refuse_bad_sources(
    simulator: Simulator,
    http: httpx.Client,
    path: str,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None,
) -> None:
    response = http.post(path, data=data, files=files)
    assert response.status_code in (400, 404)
    assert "error" in response.json()
    assert simulator.ledger()["creates"] == 0


def test_characters_create_and_get(simulator: Simulator, http: httpx.Client) -> None:
    files = {"video": ("c.mp4", _clip(1), "video/mp4")}
    created = http.post("/v1/videos/characters", data={"name": "Captain Paper"}, files=files)
    assert created.status_code == 200
    body = created.json()
    assert body["id"].startswith("char_")
    assert body["name"] == "Captain Paper"
    assert http.get(f"/v1/videos/characters/{body['id']}").json() == body
    with simulator.client("sk-other") as other:
        assert other.get(f"/v1/videos/characters/{body['id']}").status_code == 404
    assert simulator.ledger()["creates"] == 0  # characters are not renders


@pytest.mark.parametrize(
    ("data", "files"),
    [
        ({"name": "no video"}, None),
        ({}, {"video": ("c.mp4", b"x", "video/mp4")}),
        ({"name": "x" * 81}, {"video": ("c.mp4", b"x", "video/mp4")}),
        ({"name": "bad video"}, {"video": ("c.mp4", b"garbage", "video/mp4")}),
    ],
)
def test_characters_refuse_bad_input(
    http: httpx.Client, data: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None
) -> None:
    assert http.post("/v1/videos/characters", data=data, files=files).status_code == 400


def test_literal_segments_win_over_parameters(simulator: Simulator, http: httpx.Client) -> None:
    assert http.get("/v1/videos/characters/content").json()["error"]["message"].startswith("Character")
    assert simulator.ledger()["requests"] == {"GET /v1/videos/characters/{character_id}": 1}
