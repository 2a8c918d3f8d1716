"""The official openai SDK drives the simulator unchanged."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from renderkit.simulator import Simulator
from renderkit.simulator.inputs import RenderRequest, Shot
from renderkit.simulator.render import render_video
from tests.fixtures.sim import FAST
from tests.simulator.helpers import decode, frame_pixel, png

if TYPE_CHECKING:
    import openai

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


@pytest.fixture(scope="module")
def sdk() -> ModuleType:
    """The openai package, imported by these tests alone: it takes 1.6 s, which every worker would pay to collect."""
    return importlib.import_module("openai")


@pytest.fixture
def client(sdk: ModuleType, simulator: Simulator) -> Iterator[openai.OpenAI]:
    with sdk.OpenAI(base_url=simulator.base_url + "/v1", api_key="sk-test", max_retries=0) as c:
        yield c


def test_create_and_poll_then_download_every_variant(client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(prompt="a paper boat", seconds="4", size="1280x720", poll_interval_ms=20)
    assert (video.status, video.progress, video.size, video.seconds) == ("completed", 100, "1280x720", "4")
    assert video.expires_at is not None
    assert video.completed_at is not None
    assert video.expires_at > video.completed_at
    mp4 = client.videos.download_content(video.id).content
    decoded = decode(mp4)
    assert (decoded.frames, decoded.width, decoded.height) == (4 * FAST.fps, 1280, 720)
    assert decoded.seconds == pytest.approx(4.0)
    assert client.videos.download_content(video.id, variant="thumbnail").content[8:12] == b"WEBP"
    assert client.videos.download_content(video.id, variant="spritesheet").content[:3] == b"\xff\xd8\xff"


def test_create_answers_queued_and_poll_honours_the_header(client: openai.OpenAI, simulator: Simulator) -> None:
    simulator.configure(latency=0.3, poll_after_ms=15)
    video = client.videos.create(prompt="a cat", model="sora-2-pro", seconds="8", size="1792x1024")
    assert (video.status, video.progress, video.model) == ("queued", 0, "sora-2-pro")
    assert video.id.startswith("video_")
    assert len(video.id) == 54
    raw = client.videos.with_raw_response.retrieve(video.id)
    assert raw.headers["openai-poll-after-ms"] == "15"
    done = client.videos.poll(video.id)
    assert done.status == "completed"
    assert simulator.ledger()["paid_seconds"] == 8


def test_list_pages_through_every_video(client: openai.OpenAI) -> None:
    ids = [client.videos.create(prompt=f"shot {i}", seconds="4").id for i in range(5)]
    listed = [v.id for v in client.videos.list(limit=2)]
    assert listed == ids[::-1]
    ascending = client.videos.list(limit=2, order="asc")
    assert [v.id for v in ascending.data] == ids[:2]
    assert ascending.has_more
    assert [v.id for v in ascending] == ids


def test_delete_then_retrieve_is_not_found(sdk: ModuleType, client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(prompt="gone soon", poll_interval_ms=20)
    deleted = client.videos.delete(video.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (video.id, True, "video.deleted")
    with pytest.raises(sdk.NotFoundError):
        client.videos.retrieve(video.id)
    with pytest.raises(sdk.NotFoundError):
        client.videos.download_content(video.id)


def test_remix_needs_a_completed_source(sdk: ModuleType, client: openai.OpenAI, simulator: Simulator) -> None:
    simulator.configure(latency=60)
    pending = client.videos.create(prompt="source", seconds="4", size="720x1280")
    with pytest.raises(sdk.BadRequestError):
        client.videos.remix(pending.id, prompt="too early")
    simulator.advance(60)
    remix = client.videos.remix(pending.id, prompt="now in colour")
    assert remix.remixed_from_video_id == pending.id
    assert (remix.size, remix.seconds, remix.prompt) == ("720x1280", "4", "now in colour")
    assert simulator.ledger()["creates"] == 2


def test_unknown_key_is_authentication_error(sdk: ModuleType, make_simulator) -> None:
    sim = make_simulator(api_keys=("sk-good",))
    with sdk.OpenAI(base_url=sim.base_url + "/v1", api_key="sk-bad", max_retries=0) as bad:
        with pytest.raises(sdk.AuthenticationError):
            bad.videos.create(prompt="x")
    with sdk.OpenAI(base_url=sim.base_url + "/v1", api_key="sk-good", max_retries=0) as good:
        assert good.videos.create(prompt="x").status == "queued"
    assert sim.ledger()["responses"] == {"200": 1, "401": 1}


def test_rate_limit_is_retried_then_raised(sdk: ModuleType, simulator: Simulator) -> None:
    simulator.configure(rpm=1, rate_window=0.2)
    with sdk.OpenAI(base_url=simulator.base_url + "/v1", api_key="sk-test", max_retries=1) as c:
        c.videos.create(prompt="first")
        # The retry waits out retry-after-ms (< 0.2 s) and then succeeds: the SDK honoured the header.
        assert c.videos.create(prompt="second").status == "queued"
        simulator.configure(rate_window=60)
        with pytest.raises(sdk.RateLimitError):
            c.with_options(max_retries=0).videos.create(prompt="third")
    ledger = simulator.ledger()
    assert ledger["creates"] == 2
    assert ledger["responses"]["429"] == 2


def test_sdk_uploads_an_input_reference_and_extras(client: openai.OpenAI, simulator: Simulator) -> None:
    reference = ("ref.png", png((0, 200, 0), (720, 1280)), "image/png")
    video = client.videos.create(prompt="green", input_reference=reference, seconds="4", extra_body={"private": "true"})
    assert video.model_extra == {"private": True}
    simulator.advance(simulator.config.latency)
    mp4 = client.videos.download_content(video.id).content
    assert frame_pixel(mp4, "first", (0.5, 0.8))[1] > 150


def test_sdk_edit_extend_and_characters(sdk: ModuleType, client: openai.OpenAI, simulator: Simulator) -> None:
    clip = render_video(RenderRequest("sora-2", 320, 240, (Shot("upload", 2),)), "upload", 8)
    edited = client.videos.edit(prompt="now at night", video=("clip.mp4", clip, "video/mp4"))
    assert (edited.size, edited.seconds) == ("320x240", "2")
    extended = client.videos.extend(prompt="and on", seconds="4", video=("clip.mp4", clip, "video/mp4"))
    assert extended.seconds == "6"
    character = client.videos.create_character(name="Paper Captain", video=("c.mp4", clip, "video/mp4"))
    assert character.id is not None
    assert client.videos.get_character(character.id).name == "Paper Captain"
    with pytest.raises(sdk.NotFoundError):
        client.videos.get_character("char_missing")
    assert simulator.ledger()["paid_seconds"] == 2 + 4
