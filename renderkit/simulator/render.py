"""Real media for a render request: an H.264 MP4, a WebP thumbnail and a JPEG spritesheet.

Every frame shows the prompt of its shot (and the input image, when there is one) and a progress bar. Each render
carries a ``stamp`` (the task id, or a seed-derived value when renders must be repeatable) in the container's
metadata, so two renders of one request differ in bytes unless they share a stamp; the thumbnail and spritesheet
also draw it. The video's pixels leave it out, so one encode of a request serves every task that asks for it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import threading

import av
from PIL import Image, ImageDraw, ImageFont

from renderkit.simulator.inputs import InvalidRequest, RenderRequest
from renderkit.simulator.lru import BytesLRU

SPRITE_TILES = 5  # the spritesheet is a 5x5 grid of evenly spaced frames
SPRITE_WIDTH = 160
ENCODED_BUDGET = 64 << 20  # bytes of stamp-free encodes kept per process; an evicted one is encoded again


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _colour(text: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(text.encode()).digest()
    return (digest[0] // 3 + 20, digest[1] // 3 + 20, digest[2] // 3 + 20)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int, max_lines: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        while font.getlength(word) > width and len(word) > 1:
            # Hard-cut words wider than the frame.
            cut = max(1, int(len(word) * width / font.getlength(word)))
            lines.append((line + " " + word[:cut]).strip())
            line, word = "", word[cut:]
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    lines = [ln for ln in lines if ln]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1] + " …"]
    return lines


def _shot_frame(req: RenderRequest, index: int, stamp: str | None) -> Image.Image:
    """The still picture of shot ``index``: colour or input image, prompt text, notes and the stamp if given."""
    w, h = req.width, req.height
    shot = req.shots[index]
    img = Image.new("RGB", (w, h), _colour(shot.prompt))
    if req.image is not None:
        with Image.open(io.BytesIO(req.image)) as src:
            picture = src.convert("RGB")
        picture.thumbnail((w, h))
        img.paste(picture, ((w - picture.width) // 2, (h - picture.height) // 2))
    draw = ImageDraw.Draw(img)
    margin = max(4, w // 32)
    size = max(10, min(w, h) // 14)
    font = _font(size)
    lines = _wrap(shot.prompt, font, w - 2 * margin, max(1, (h // 2) // (size + 4)))
    top = h // 4
    band = (0, top - margin // 2, w, top + len(lines) * (size + 4) + margin // 2)
    draw.rectangle(band, fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((margin, top + i * (size + 4)), line, font=font, fill=(255, 255, 255))
    small_size = max(8, size // 2)
    small = _font(small_size)
    notes = [f"{req.model} {req.size} {req.seconds}s"]
    if len(req.shots) > 1:
        notes.append(f"shot {index + 1}/{len(req.shots)}")
    if req.note:
        notes.append(req.note)
    draw.text((margin, margin), "  ·  ".join(notes), font=small, fill=(255, 255, 255))
    if stamp is not None:
        draw.text((margin, h - margin - 2 * small_size), stamp, font=small, fill=(255, 255, 0))
    return img


def _timeline(req: RenderRequest, fps: int) -> list[int]:
    """The shot index of every frame."""
    return [i for i, shot in enumerate(req.shots) for _ in range(shot.seconds * fps)]


BAR = (255, 140, 0)


def _bar_height(h: int) -> int:
    return max(2, h // 40)


def _with_bar(still: Image.Image, done: float) -> Image.Image:
    frame = still.copy()
    w, h = frame.size
    ImageDraw.Draw(frame).rectangle((0, h - _bar_height(h), int(w * done), h), fill=BAR)
    return frame


class _Planes:
    """A still converted to YUV 4:2:0 once; each frame copies its planes and paints the bar into them."""

    def __init__(self, still: Image.Image) -> None:
        yuv = av.VideoFrame.from_image(still).reformat(format="yuv420p")  # type: ignore[no-untyped-call]
        self.planes = [(bytes(p), p.line_size, p.height) for p in yuv.planes]
        self.width, self.height = still.size

    def frame(self, done: float, bar: tuple[int, int, int]) -> av.VideoFrame:
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        bar_w = int(self.width * done)
        bar_h = _bar_height(self.height)
        for i, ((data, line, rows), value) in enumerate(zip(self.planes, bar, strict=True)):
            # Chroma planes are half size in both directions.
            shift = 0 if i == 0 else 1
            width, top = bar_w >> shift, (self.height - bar_h) >> shift
            buf = bytearray(data)
            fill = bytes([value]) * width
            for row in range(top, rows):
                buf[row * line : row * line + width] = fill
            frame.planes[i].update(bytes(buf))
        return frame


@functools.cache
def _bar_yuv() -> tuple[int, int, int]:
    yuv = av.VideoFrame.from_image(Image.new("RGB", (2, 2), BAR)).reformat(format="yuv420p")  # type: ignore[no-untyped-call]
    y, u, v = (bytes(p)[0] for p in yuv.planes)
    return y, u, v


def render_video(req: RenderRequest, stamp: str, fps: int) -> bytes:
    """The MP4 of ``req``: ``req.seconds * fps`` frames of ``req.width`` x ``req.height``, ``stamp`` in its metadata."""
    return _restamp(_ENCODES.get(req, fps), stamp)


class _Encodes:
    """Stamp-free encodes by request and frame rate, kept up to a byte budget and shared by the render threads."""

    def __init__(self, budget: int) -> None:
        self.done = BytesLRU(budget)
        self._lock = threading.Lock()

    def get(self, req: RenderRequest, fps: int) -> bytes:
        key = (req.fingerprint(), fps)
        with self._lock:
            if (kept := self.done.get(key)) is not None:
                return kept
        # Two threads asking for one request at once may both encode it: same bytes, kept once.
        data = _encode(req, fps)
        with self._lock:
            self.done.put(key, data)
        return data


_ENCODES = _Encodes(ENCODED_BUDGET)


def _encode(req: RenderRequest, fps: int) -> bytes:
    timeline = _timeline(req, fps)
    stills = [_Planes(_shot_frame(req, i, None)) for i in range(len(req.shots))]
    bar = _bar_yuv()
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = req.width, req.height, "yuv420p"
        # One x264 thread per render: renders run side by side, one per core, which beats sharing cores.
        stream.options = {"preset": "ultrafast", "crf": "30", "g": str(fps * 2), "threads": "1"}
        for n, shot in enumerate(timeline):
            frame = stills[shot].frame((n + 1) / len(timeline), bar)
            frame.pts = n
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _restamp(data: bytes, stamp: str) -> bytes:
    """The same packets in a new MP4 whose metadata carries ``stamp``: a remux, not an encode."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data), "r") as src, av.open(out, "w", format="mp4") as dst:
        dst.metadata["comment"] = stamp
        source = src.streams.video[0]
        stream = dst.add_stream_from_template(source)
        for packet in src.demux(source):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = stream
            dst.mux(packet)
    return out.getvalue()


def render_thumbnail(req: RenderRequest, stamp: str) -> bytes:
    """A WebP of the first shot, half-way through the video."""
    out = io.BytesIO()
    _with_bar(_shot_frame(req, 0, stamp), 0.5).save(out, "WEBP", quality=80)
    return out.getvalue()


def render_spritesheet(req: RenderRequest, stamp: str, fps: int) -> bytes:
    """A JPEG grid of evenly spaced frames."""
    timeline = _timeline(req, fps)
    stills = [_shot_frame(req, i, stamp) for i in range(len(req.shots))]
    tile_w = SPRITE_WIDTH
    tile_h = max(2, round(req.height * tile_w / req.width))
    sheet = Image.new("RGB", (tile_w * SPRITE_TILES, tile_h * SPRITE_TILES))
    count = SPRITE_TILES * SPRITE_TILES
    for k in range(count):
        n = min(len(timeline) - 1, k * len(timeline) // count)
        tile = _with_bar(stills[timeline[n]], (n + 1) / len(timeline)).resize((tile_w, tile_h))
        sheet.paste(tile, ((k % SPRITE_TILES) * tile_w, (k // SPRITE_TILES) * tile_h))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=80)
    return out.getvalue()


def probe_video(data: bytes, param: str) -> tuple[int, int, int]:
    """Width, height and whole seconds (rounded up) of an uploaded video; InvalidRequest if unreadable."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            stream = container.streams.video[0]
            seconds = float(container.duration) / av.time_base if container.duration else 0.0
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, IndexError, ValueError):
        raise InvalidRequest(f"{param} is not a readable video file", param=param) from None
    if not width or not height or seconds <= 0:
        raise InvalidRequest(f"{param} has no video frames", param=param)
    return width - width % 2, height - height % 2, max(1, math.ceil(seconds - 1e-6))
