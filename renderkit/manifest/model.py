"""The resolved manifest as frozen values: what the plan, the executor and the lock read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from renderkit.errors import Diagnostic

# The fields that make a scene build on (and wait for) another one; a scene has at most one of them.
UPSTREAM = ("remix_of", "continue_from", "extend_of")


@dataclass(frozen=True)
class ProviderConfig:
    """One provider entry; ``base_url`` None on a simulator means the embedded in-process simulator."""

    name: str
    kind: str
    base_url: str | None
    api_key_env: str | None
    rpm: float | None
    max_in_flight: int | None
    poll_interval: float | None
    timeout: float | None


@dataclass(frozen=True)
class ImageRef:
    """A reference image: a file inside the project (with its content's sha256) or an https URL."""

    path: Path | None
    url: str | None
    sha256: str | None


@dataclass(frozen=True)
class Shot:
    """One storyboard shot."""

    prompt: str
    seconds: int


@dataclass(frozen=True)
class Scene:
    """One fully resolved scene: every field has its final value."""

    id: str
    prompt: str
    model: str
    size: str
    seconds: int
    provider: str
    image: ImageRef | None
    remix_of: str | None
    storyboard: tuple[Shot, ...]
    take: str | None
    line: int
    continue_from: str | None
    extend_of: str | None
    duration: int  # the output's length: seconds, except an extension's (source + seconds) and its remixes'

    @property
    def link(self) -> str | None:
        """The field that names the scene this one builds on: remix_of, continue_from or extend_of (at most one)."""
        return next((f for f in UPSTREAM if getattr(self, f) is not None), None)

    @property
    def upstream(self) -> str | None:
        """The id of the scene this one builds on and waits for."""
        return self.remix_of or self.continue_from or self.extend_of


@dataclass(frozen=True)
class Manifest:
    """A loaded, valid manifest; ``warnings`` lists what is allowed but worth knowing (unknown models)."""

    path: Path
    root: Path
    providers: Mapping[str, ProviderConfig]
    scenes: tuple[Scene, ...]
    budget: float | None
    output_dir: Path
    warnings: tuple[Diagnostic, ...]
