"""Reference images: resolve a manifest's ``image`` value inside the project and hash the file by content."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

from renderkit.request import ImageRef

_CHUNK = 1 << 20
# Far above any video size, far below what would exhaust memory when decoded (Pillow's own guard is 89 MP).
MAX_PIXELS = 50_000_000
_MAGIC = ((b"\x89PNG\r\n\x1a\n", 0), (b"\xff\xd8\xff", 0), (b"WEBP", 8))


def resolve_image(root: Path, value: str) -> tuple[ImageRef | None, str | None]:
    """Return the ImageRef for ``value`` or a message saying what to fix (never both)."""
    scheme, sep, _ = value.partition("://")
    if value.startswith("https://"):
        return (ImageRef(None, value, None), None) if len(value) > len("https://") else (None, "the URL has no host")
    if sep or value.startswith("data:"):
        return None, f"image URLs must use https, not {scheme or 'data'}:; use an https:// URL or a file path"
    relative = Path(value)
    if relative.is_absolute():
        return None, "must be a path relative to the manifest (or an https:// URL); move the image into the project"
    real_root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(real_root):
        how = "through '..'" if ".." in relative.parts else "through a symlink"
        return None, f"{value} escapes the project {how}; copy the image inside the project"
    if not target.exists():
        return None, f"no such file {value} (relative to the manifest); fix the path or add the file"
    if not target.is_file():
        return None, f"{value} is not a file; point at a PNG, JPEG or WebP image"
    digest, problem = _hash(target)
    if problem is None:
        problem = _decode(target)
    if problem is not None:
        return None, f"{value}: {problem}"
    return ImageRef(root / relative, None, digest), None


def _decode(path: Path) -> str | None:
    """Why the image cannot be sent (does not decode, is truncated, or is too large), or None.

    Checked here so that ``validate`` refuses it, instead of a build failing after it has started paying.
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Pillow warns between its two bomb limits; renderkit's own limit, below both, speaks instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                return (
                    f"is {width}x{height} pixels, over renderkit's limit of {MAX_PIXELS // 1_000_000} megapixels; "
                    "scale it down (it is fitted to the video's size anyway)"
                )
            img.load()
    except Image.DecompressionBombError:
        return f"declares more pixels than renderkit's limit of {MAX_PIXELS // 1_000_000} megapixels; scale it down"
    except (OSError, ValueError, SyntaxError) as exc:
        return f"does not decode as an image ({exc}); export it again as PNG, JPEG or WebP"
    return None


def _hash(path: Path) -> tuple[str, str | None]:
    """sha256 of the file, read in chunks so a large image is never held in memory."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            first = f.read(_CHUNK)
            if not any(first[at : at + len(magic)] == magic for magic, at in _MAGIC):
                return "", "not a PNG, JPEG or WebP image"
            h.update(first)
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except OSError as exc:
        return "", f"cannot read: {exc.strerror}"
    return h.hexdigest(), None
