"""Video and image work, all through PyAV and Pillow: prove a download is the video asked for, fit a reference
image to a size, take a last frame or a poster frame, stitch MP4s."""

from __future__ import annotations

import importlib
import io
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from renderkit.request import parse_size

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage


class Mp4Problem(Exception):
    """The file is not the video that was asked for."""


@dataclass(frozen=True)
class Delivered:
    """What a video file turned out to be, once every frame decoded."""

    width: int
    height: int
    seconds: float

    @property
    def size(self) -> str:
        """``WIDTHxHEIGHT``."""
        return f"{self.width}x{self.height}"

    def differs(self, size: str, seconds: int) -> str | None:
        """How this differs from the ``size`` and ``seconds`` asked for, in words, or None."""
        problems = []
        if self.size != size:
            problems.append(f"{self.size} instead of {size}")
        if abs(self.seconds - seconds) > max(0.5, seconds * 0.05):
            problems.append(f"{self.seconds:.2f}s instead of {seconds}s")
        return ", ".join(problems) or None


_importing: list[threading.Thread] = []


def prepare_decoder() -> None:
    """Import PyAV on a spare thread, once. Loading its libraries holds the GIL for 0.1-0.2 s; the first download's
    frame check would otherwise take that from the event loop just as the next wave of creates is due."""
    if not _importing and "av" not in sys.modules:
        _importing.append(threading.Thread(target=importlib.import_module, args=("av",), name="renderkit-av"))
        _importing[0].start()


def probe_mp4(path: Path) -> Delivered:
    """Decode every frame; raise Mp4Problem when the file is not a whole video of one frame size."""
    import av

    frame_size: tuple[int, int] | None = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise Mp4Problem("no video stream")
            stream = container.streams.video[0]
            last = 0.0
            for frame in container.decode(stream):
                if frame_size is None:
                    frame_size = (frame.width, frame.height)
                elif (frame.width, frame.height) != frame_size:
                    raise Mp4Problem(f"frame size changes from {frame_size} to {(frame.width, frame.height)}")
                if frame.time is not None:
                    last = max(last, float(frame.time))
                    rate = stream.average_rate
                    if rate:
                        last = max(last, float(frame.time) + 1 / float(rate))
    except av.error.FFmpegError as exc:
        raise Mp4Problem(f"cannot decode: {exc}") from None
    if frame_size is None:
        raise Mp4Problem("no frames")
    return Delivered(frame_size[0], frame_size[1], last)


def fit_image(data: bytes, size: str) -> bytes:
    """Letterbox an image into exactly ``size`` pixels (scaled to fit, centred on black) as a PNG.

    The OpenAI API rejects a reference image of another size, so every image sent is fitted. The output is a
    function of the input bytes and the size alone (no metadata, fixed filter), so the render key can hash the
    source file and still describe what is sent.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return _fitted_png(img.convert("RGB"), size)


def _fitted_png(src: PILImage, size: str) -> bytes:
    """``src`` letterboxed into exactly ``size`` pixels, as PNG bytes (see ``fit_image``)."""
    from PIL import Image

    width, height = parse_size(size)
    scale = min(width / src.width, height / src.height)
    inner = (max(1, round(src.width * scale)), max(1, round(src.height * scale)))
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(src.resize(inner, Image.Resampling.LANCZOS), ((width - inner[0]) // 2, (height - inner[1]) // 2))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()


def last_frame(path: Path, size: str) -> bytes:
    """The last decodable frame of an MP4, fitted to ``size``, as PNG bytes."""
    import av

    last: Any = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            last = frame
    if last is None:
        raise ValueError(f"{path} has no video frames")
    return _fitted_png(last.to_image(), size)


def poster(path: Path, width: int) -> bytes:
    """A poster frame of an MP4 as JPEG bytes, at most ``width`` pixels wide: the frame a second in (or the
    middle of a shorter video), since first frames are often black. Mp4Problem when nothing decodes."""
    import av
    from PIL import Image

    chosen: Any = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise Mp4Problem("no video stream")
            stream = container.streams.video[0]
            length = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
            wanted = min(1.0, length / 2)
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is not None and frame.time >= wanted:
                    break
    except av.error.FFmpegError as exc:
        raise Mp4Problem(f"cannot decode: {exc}") from None
    if chosen is None:
        raise Mp4Problem("no frames")
    image = chosen.to_image()
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=82)
    return out.getvalue()


def _signature(stream: Any) -> tuple[object, ...]:
    ctx = stream.codec_context
    return (ctx.name, ctx.width, ctx.height, ctx.format.name if ctx.format else None, stream.time_base)


def stitch(parts: Sequence[Path], out: Path) -> None:
    """Concatenate MP4s into ``out``: a stream copy when every part shares one encoding, a re-encode otherwise."""
    import av

    if not parts:
        raise ValueError("nothing to stitch")
    signatures = set()
    for part in parts:
        with av.open(str(part)) as container:
            signatures.add(_signature(container.streams.video[0]))
    if len(signatures) == 1:
        _copy(parts, out)
    else:
        _reencode(parts, out)


def _copy(parts: Sequence[Path], out: Path) -> None:
    import av

    with av.open(str(out), "w", format="mp4") as dst:
        ostream: Any = None
        offset = 0
        for part in parts:
            with av.open(str(part)) as src:
                istream = src.streams.video[0]
                if ostream is None:
                    ostream = dst.add_stream_from_template(istream)
                end = offset
                for packet in src.demux(istream):
                    if packet.dts is None:
                        continue  # the demuxer's flush packet
                    packet.stream = ostream
                    packet.pts = (packet.pts or 0) + offset
                    packet.dts = packet.dts + offset
                    end = max(end, packet.pts + (packet.duration or 0))
                    dst.mux(packet)
                offset = end


def _reencode(parts: Sequence[Path], out: Path) -> None:
    import av

    with av.open(str(parts[0])) as first:
        ref = first.streams.video[0]
        width, height = ref.codec_context.width, ref.codec_context.height
        rate = ref.average_rate or Fraction(24)
    with av.open(str(out), "w", format="mp4") as dst:
        ostream: Any = dst.add_stream("libx264", rate=rate)
        ostream.width, ostream.height, ostream.pix_fmt = width, height, "yuv420p"
        ostream.options = {"preset": "veryfast", "crf": "20"}
        index = 0
        for part in parts:
            with av.open(str(part)) as src:
                for frame in src.decode(video=0):
                    frame = frame.reformat(width=width, height=height, format="yuv420p")
                    frame.pts = index
                    frame.time_base = Fraction(1, 1) / rate
                    index += 1
                    for packet in ostream.encode(frame):
                        dst.mux(packet)
        for packet in ostream.encode(None):
            dst.mux(packet)
