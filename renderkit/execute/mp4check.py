"""Prove a downloaded file is a whole MP4 of the expected size and length by decoding every frame."""

from __future__ import annotations

from pathlib import Path


class Mp4Problem(Exception):
    """The file is not the video that was asked for."""


def check_mp4(path: Path, size: str, seconds: int) -> None:
    """Decode every frame; raise Mp4Problem on a decode error, a wrong frame size or a wrong duration."""
    import av

    width, height = (int(v) for v in size.lower().split("x"))
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise Mp4Problem("no video stream")
            stream = container.streams.video[0]
            frames = 0
            last = 0.0
            for frame in container.decode(stream):
                if (frame.width, frame.height) != (width, height):
                    raise Mp4Problem(f"frame is {frame.width}x{frame.height}, expected {size}")
                frames += 1
                if frame.time is not None:
                    last = max(last, float(frame.time))
                    rate = stream.average_rate
                    if rate:
                        last = max(last, float(frame.time) + 1 / float(rate))
    except av.error.FFmpegError as exc:
        raise Mp4Problem(f"cannot decode: {exc}") from None
    if frames == 0:
        raise Mp4Problem("no frames")
    if abs(last - seconds) > max(0.5, seconds * 0.05):
        raise Mp4Problem(f"lasts {last:.2f}s, expected {seconds}s")
