"""The one owner of every name renderkit gives to files, folders and environment variables.

Imports only the standard library, and not dataclasses (which loads inspect, a fifth of a no-op build's time):
the no-op memo check reads it before anything else is loaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

MANIFEST_NAME = "renderkit.yaml"
ALTERNATE_MANIFEST_NAME = "renderkit.yml"  # found too when no path is given; both in one folder is an error
SCHEMA_NAME = "renderkit.schema.json"  # what `renderkit init` writes beside it, for editors
LOCK_NAME = "renderkit.lock"
CACHE_DIR_NAME = ".renderkit"
DEFAULT_OUTPUT_DIR = "renders"
OUTPUT_TEMP_SUFFIX = ".renderkit-tmp"  # a hidden temp beside an output while it is copied into place
REPORT_DIR_NAME = "report"  # `renderkit report` writes into this folder of the output folder by default

BUILD_LOCK_WAIT = 600.0  # seconds a build waits by default for another build that holds the cache's lock

CACHE_DIR_ENV = "RENDERKIT_CACHE_DIR"
RAISE_ERRORS_ENV = "RENDERKIT_RAISE_ERRORS"
REMOTE_ENV = "RENDERKIT_REMOTE"
REMOTE_MODE_ENV = "RENDERKIT_REMOTE_MODE"
REMOTE_SIGNING_KEY_ENV = "RENDERKIT_REMOTE_SIGNING_KEY"


def lock_path(manifest: Path) -> Path:
    """The lock beside a manifest: ``renderkit.lock`` for ``renderkit.yaml``, ``NAME.lock`` for ``NAME.yaml``."""
    if manifest.stem == Path(MANIFEST_NAME).stem:
        return manifest.parent / LOCK_NAME
    return manifest.parent / f"{manifest.stem}.lock"


def bundle_path(manifest: Path) -> Path:
    """The default bundle beside a manifest: ``NAME.bundle.zip`` for ``NAME.yaml``."""
    return manifest.parent / f"{manifest.stem}.bundle.zip"


def output_temp(dest: Path) -> Path:
    """Where an output is written before its atomic rename (hidden, same folder)."""
    return dest.parent / f".{dest.name}{OUTPUT_TEMP_SUFFIX}"


class _Folder:
    """A folder whose files a subclass names: a value, equal to another of its kind with the same root."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root: Final = root

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, _Folder) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"


class CacheLayout(_Folder):
    """Where everything inside one cache directory lives."""

    __slots__ = ()

    @classmethod
    def for_project(cls, project_root: Path, environ: Mapping[str, str]) -> CacheLayout:
        """``$RENDERKIT_CACHE_DIR`` when set, else ``.renderkit/`` beside the manifest."""
        chosen = environ.get(CACHE_DIR_ENV)
        return cls(Path(chosen).expanduser().resolve() if chosen else project_root / CACHE_DIR_NAME)

    @property
    def index(self) -> Path:
        """The diskcache index: render key -> record JSON, output path -> stat."""
        return self.root / "index"

    @property
    def blobs(self) -> Path:
        """Content-addressed videos, ``blobs/ab/abcdef...``."""
        return self.root / "blobs"

    @property
    def tmp(self) -> Path:
        """Partial downloads and stitches (same filesystem as the blobs, so renames are atomic)."""
        return self.root / "tmp"

    @property
    def journal(self) -> Path:
        """The write-ahead journal of create intents and task ids."""
        return self.root / "journal.jsonl"

    @property
    def build_lock(self) -> Path:
        """The lock file that lets one build at a time decide what to pay for."""
        return self.root / "build.lock"

    @property
    def posters(self) -> Path:
        """Poster frames of blobs for ``renderkit report``, ``posters/ab/<sha256>-<width>.jpg``."""
        return self.root / "posters"

    def poster(self, sha256: str, width: int) -> Path:
        """Where the poster frame of the blob with this digest, at most ``width`` pixels wide, is cached."""
        return self.posters / sha256[:2] / f"{sha256}-{width}.jpg"

    def blob(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        return Path(self.blob_name(sha256))

    def blob_name(self, sha256: str) -> str:
        """``blob`` as a plain string: asked for every scene of a plan, where pathlib's parsing shows."""
        return os.path.join(self.root, "blobs", sha256[:2], sha256)

    def memo(self, manifest: Path) -> Path:
        """The no-op memo of ``manifest``, named by its absolute path."""
        digest = hashlib.sha256(os.path.abspath(manifest).encode()).hexdigest()[:32]
        return self.root / "noop" / f"{digest}.json"


class ReportLayout(_Folder):
    """Where everything of one ``renderkit report`` lives: the page, and the copies it shows by relative path."""

    __slots__ = ()

    @property
    def index(self) -> Path:
        """The page."""
        return self.root / "index.html"

    @property
    def media(self) -> Path:
        """Copies of the renders that are no output file (other takes, older renders)."""
        return self.root / "media"

    @property
    def posters(self) -> Path:
        """Copies of the poster frames the page shows (the cache keeps the originals)."""
        return self.root / "posters"

    def video(self, sha256: str) -> Path:
        """Where the copy of the blob with this digest goes."""
        return self.media / f"{sha256}.mp4"
