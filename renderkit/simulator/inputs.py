"""Turn a create request (JSON or multipart, any family's field names) into a normalised render request."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAX_PROMPT = 32000
MAX_SECONDS = 60
MAX_SIDE = 2048
DEFAULT_SIZE = (720, 1280)
DEFAULT_SECONDS = 4
ASPECTS = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720), "4:3": (960, 720), "3:4": (720, 960)}
NAMED_SIZES = {"720p": 720, "small": 720, "1080p": 1080, "large": 1080}


class InvalidRequest(Exception):
    """A create request the simulator refuses with HTTP 400 (``code`` is the gateway's error code)."""

    def __init__(self, message: str, *, code: str = "invalid_request", param: str | None = None) -> None:
        self.message = message
        self.code = code
        self.param = param
        super().__init__(message)


@dataclass(frozen=True)
class Shot:
    """One stretch of the video showing one prompt."""

    prompt: str
    seconds: int


@dataclass(frozen=True)
class RenderRequest:
    """Everything that decides what a render looks like."""

    model: str
    width: int
    height: int
    shots: tuple[Shot, ...]
    image: bytes | None = None
    note: str = ""

    @property
    def seconds(self) -> int:
        """Total length: the sum of the shots."""
        return sum(shot.seconds for shot in self.shots)

    @property
    def prompt(self) -> str:
        """The prompt as the Video object reports it; storyboard shots joined in order."""
        return " | ".join(shot.prompt for shot in self.shots)

    @property
    def size(self) -> str:
        """``WIDTHxHEIGHT``."""
        return f"{self.width}x{self.height}"

    def fingerprint(self) -> str:
        """sha256 of everything that changes the output, for seeded, repeatable renders."""
        doc = {
            "model": self.model,
            "size": self.size,
            "shots": [[s.prompt, s.seconds] for s in self.shots],
            "image": hashlib.sha256(self.image).hexdigest() if self.image else None,
            "note": self.note,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


Fields = Mapping[str, object]


def parse_create(fields: Fields, files: Mapping[str, bytes], *, require_model: bool) -> RenderRequest:
    """Validate a create body; raise InvalidRequest naming the bad field."""
    model = fields.get("model")
    if model is None or model == "":
        if require_model:
            raise InvalidRequest("model field is required", code="missing_model", param="model")
        model = "sora-2"
    if not isinstance(model, str):
        raise InvalidRequest("model must be a string", param="model")
    width, height = parse_size(fields)
    shots = _shots(fields)
    image, note = _image(fields, files)
    return RenderRequest(model, width, height, shots, image, note)


def prompt_of(fields: Fields) -> str:
    """The required ``prompt`` field, checked."""
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt is required", param="prompt")
    if len(prompt) > MAX_PROMPT:
        raise InvalidRequest(f"prompt is longer than {MAX_PROMPT} characters", param="prompt")
    return prompt


def seconds_of(value: object, param: str) -> int:
    """A whole number of seconds given as an int or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequest(f"{param} must be a whole number of seconds, as a string or an integer", param=param)
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SECONDS:
        raise InvalidRequest(f"{param} must be a whole number from 1 to {MAX_SECONDS}, got {value!r}", param=param)
    return int(text)


def parse_size(fields: Fields) -> tuple[int, int]:
    """Width and height from ``size`` (``WxH``, ``720P``, ``small``), ``aspect_ratio`` or ``orientation``."""
    size = fields.get("size")
    aspect = fields.get("aspect_ratio")
    portrait = fields.get("orientation") == "portrait" or aspect in ("9:16", "3:4")
    if isinstance(size, str) and size.lower() in NAMED_SIZES:
        short = NAMED_SIZES[size.lower()]
        long = short * 16 // 9
        return (short, long) if portrait else (long, short)
    if size is None or size == "":
        if isinstance(aspect, str) and aspect:
            if aspect not in ASPECTS:
                raise InvalidRequest(
                    f"aspect_ratio must be one of {', '.join(ASPECTS)}", code="invalid_size", param="aspect_ratio"
                )
            return ASPECTS[aspect]
        if fields.get("orientation") == "landscape":
            return DEFAULT_SIZE[1], DEFAULT_SIZE[0]
        return DEFAULT_SIZE
    if not isinstance(size, str):
        raise InvalidRequest("size must be a string such as 1280x720", code="invalid_size", param="size")
    w, sep, h = size.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit()):
        raise InvalidRequest(f"size {size!r} is not WIDTHxHEIGHT, e.g. 1280x720", code="invalid_size", param="size")
    width, height = int(w), int(h)
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE) or width % 2 or height % 2:
        raise InvalidRequest(
            f"size {size!r} is invalid: each side must be even and between 16 and {MAX_SIDE}",
            code="invalid_size",
            param="size",
        )
    return width, height


def _shots(fields: Fields) -> tuple[Shot, ...]:
    board = fields.get("storyboard")
    if board is None or board == "":
        if fields.get("seconds") not in (None, "", 0, "0"):
            seconds = seconds_of(fields["seconds"], "seconds")
        elif fields.get("duration") not in (None, "", 0, "0"):
            seconds = seconds_of(fields["duration"], "duration")
        else:
            seconds = DEFAULT_SECONDS
        return (Shot(prompt_of(fields), seconds),)
    if isinstance(board, str):
        try:
            board = json.loads(board)
        except ValueError:
            raise InvalidRequest("storyboard must be a JSON list of shots", param="storyboard") from None
    if not isinstance(board, list) or not board:
        raise InvalidRequest("storyboard must be a non-empty list of {prompt, seconds}", param="storyboard")
    shots = []
    for i, shot in enumerate(board):
        where = f"storyboard[{i}]"
        if not isinstance(shot, dict):
            raise InvalidRequest(f"{where} must be an object with prompt and seconds", param=where)
        length = shot.get("seconds", shot.get("duration"))
        if length is None:
            raise InvalidRequest(f"{where} needs seconds (or duration)", param=where)
        shots.append(Shot(prompt_of(shot), seconds_of(length, f"{where}.seconds")))
    if sum(s.seconds for s in shots) > MAX_SECONDS:
        raise InvalidRequest(f"storyboard is longer than {MAX_SECONDS} seconds in total", param="storyboard")
    return tuple(shots)


def _image(fields: Fields, files: Mapping[str, bytes]) -> tuple[bytes | None, str]:
    for name in ("input_reference", "image"):
        if name in files:
            return check_image(files[name], name), ""
    ref = fields.get("input_reference")
    if isinstance(ref, str) and ref:
        raise InvalidRequest(
            "Invalid type for 'input_reference': expected a file, but got a string instead.",
            code="invalid_type",
            param="input_reference",
        )
    candidates: list[object] = []
    if isinstance(ref, dict):
        if "file_id" in ref and "image_url" not in ref:
            return None, f"image file {ref['file_id']}"
        candidates.append(ref.get("image_url"))
    candidates += [fields.get("image_url"), fields.get("image")]
    images = fields.get("images")
    if isinstance(images, list) and images:
        candidates.append(images[0])
    for url in candidates:
        if isinstance(url, str) and url:
            if url.startswith("data:"):
                return check_image(_data_url(url), "image_url"), ""
            # The simulator never reaches the internet: a remote image is named in the frames instead.
            return None, f"image {url[:80]}"
    return None, ""


def _data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise InvalidRequest("image data URLs must be base64-encoded", param="image_url")
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise InvalidRequest("image data URL is not valid base64", param="image_url") from None


def check_image(data: bytes, param: str) -> bytes:
    """Return ``data`` if Pillow can read it as an image."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidRequest(f"{param} is not a readable image (jpeg, png or webp)", param=param) from None
    return data
