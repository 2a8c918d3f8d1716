"""Helpers shared by the simulator tests: polling with a deadline and decoding MP4s."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import httpx
from PIL import Image

from tests.fixtures.waiting import poll


def poll_until(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Call ``fetch`` until ``done(result)``; fail after ``timeout`` seconds (a hang guard, not a wait)."""
    return poll(fetch, done, timeout=timeout)


@dataclass(frozen=True)
class Decoded:
    """What a full decode of an MP4 found."""

    frames: int
    width: int
    height: int
    seconds: float
    comment: str


def decode(data: bytes) -> Decoded:
    """Decode every frame; raises av.FFmpegError on a broken file."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        frames = 0
        for frame in container.decode(stream):
            frames += 1
            size = (frame.width, frame.height)
        seconds = float(container.duration or 0) / av.time_base
        return Decoded(frames, size[0], size[1], seconds, container.metadata.get("comment", ""))


def completed(client: httpx.Client, video_id: str) -> dict[str, Any]:
    """Poll ``GET /v1/videos/{id}`` (openai dialect) until it completes or fails."""
    body: dict[str, Any] = poll_until(
        lambda: client.get(f"/v1/videos/{video_id}").json(),
        lambda b: b.get("status") in ("completed", "failed"),
    )
    return body


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 36)) -> bytes:
    """A solid-colour PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def frame_pixel(data: bytes, which: str, xy: tuple[float, float]) -> tuple[int, int, int]:
    """The RGB pixel at relative position ``xy`` of the ``first`` or ``last`` frame."""
    with av.open(io.BytesIO(data), "r") as container:
        frames = container.decode(video=0)
        frame = next(frames)
        if which == "last":
            for frame in frames:  # noqa: B007  # keep the last decoded frame
                pass
        image = frame.to_image()  # type: ignore[no-untyped-call]  # PyAV is untyped
    pixel = image.getpixel((int(xy[0] * image.width), int(xy[1] * image.height)))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))
