"""Pure helpers: size parsing, byte ranges, MP4 padding and the lifecycle function."""

from __future__ import annotations

import struct

import pytest

from renderkit.simulator.content import Payload, Unsatisfiable, pad_mp4, parse_range
from renderkit.simulator.inputs import InvalidRequest, RenderRequest, Shot, parse_size
from renderkit.simulator.render import render_video
from renderkit.simulator.tasks import Task, state_of


@pytest.mark.parametrize(
    ("fields", "size"),
    [
        ({}, (720, 1280)),
        ({"orientation": "landscape"}, (1280, 720)),
        ({"size": "small", "orientation": "portrait"}, (720, 1280)),
        ({"size": "large"}, (1920, 1080)),
        ({"size": "1080P", "aspect_ratio": "9:16"}, (1080, 1920)),
        ({"aspect_ratio": "1:1"}, (720, 720)),
        ({"size": "1792X1024"}, (1792, 1024)),
    ],
)
def test_sizes(fields: dict[str, object], size: tuple[int, int]) -> None:
    assert parse_size(fields) == size


@pytest.mark.parametrize("size", [1280, "1280", "x720", "1280x", "12 80x720", "0x0", "2050x720"])
def test_bad_sizes(size: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_size({"size": size})
    assert caught.value.code == "invalid_size"


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, None),
        ("", None),
        ("bytes=0-0", (0, 1)),
        ("bytes=5-", (5, 100)),
        ("bytes=90-500", (90, 100)),
        ("bytes=-30", (70, 100)),
        ("bytes=-500", (0, 100)),
        ("bytes=1-2,4-5", None),
        ("lines=1-2", None),
        ("bytes=a-", None),
        ("bytes=1-b", None),
        ("bytes=", None),
        ("bytes=5-4", None),
    ],
)
def test_ranges(header: str | None, span: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=100-200"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, 100)


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return render_video(RenderRequest("sora-2", 64, 64, (Shot("p", 1),)), "s", 2)


def test_padding_beyond_4_gib_uses_a_64_bit_box(mp4: bytes) -> None:
    parts = pad_mp4(mp4, 5 << 30)
    head, box, zeros, tail = parts
    assert isinstance(head, bytes)
    assert isinstance(box, bytes)
    assert isinstance(zeros, int)
    assert isinstance(tail, bytes)
    assert struct.unpack(">I4sQ", box) == (1, b"free", (5 << 30) - len(mp4))
    assert tail[4:8] == b"moov"
    assert Payload(parts, "video/mp4", "").size == 5 << 30


def test_padding_too_small_to_hold_a_box_is_skipped(mp4: bytes) -> None:
    assert pad_mp4(mp4, None) == (mp4,)
    assert pad_mp4(mp4, len(mp4) + 7) == (mp4,)
    assert len(pad_mp4(mp4, len(mp4) + 8)) == 4


def test_payload_ranges_cross_parts() -> None:
    payload = Payload((b"abc", 4, b"xyz"), "application/octet-stream", "")
    assert b"".join(payload.iter_range(1, 9)) == b"bc\0\0\0\0xy"
    assert b"".join(payload.iter_range(0, payload.size)) == b"abc\0\0\0\0xyz"


def _task(latency: float, **extra: object) -> Task:
    req = RenderRequest("sora-2", 64, 64, (Shot("p", 1),))
    base: dict[str, object] = {
        "id": "video_x",
        "owner": "k",
        "seq": 1,
        "request": req,
        "action": "textGenerate",
        "created": 100.0,
        "created_wall": 1_000.0,
        "latency": latency,
        "ttl": 60.0,
        "stamp": "s",
        "fps": 2,
    }
    return Task(**{**base, **extra})  # type: ignore[arg-type]


def test_lifecycle_phases() -> None:
    task = _task(40)
    assert state_of(task, 100, 0).status == "queued"
    assert state_of(task, 110, 0).status == "in_progress"
    assert state_of(task, 139.9, 0).progress == 99
    done = state_of(task, 140, 0)
    assert (done.status, done.completed_at, done.expires_at, done.expired) == ("completed", 1040, 1100, False)
    assert state_of(task, 200, 0).expired
    assert state_of(task, 140, 50).status == "not_start"
    failed = state_of(_task(0, fail="internal_error"), 100, 0)
    assert (failed.status, failed.pending) == ("failed", False)
    assert state_of(_task(1, expire_now=True), 101, 0).expired
