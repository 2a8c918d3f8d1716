"""The resolved manifest as frozen values: what the plan and the build read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from renderkit.catalog.models import Catalog, catalog
from renderkit.errors import Diagnostic
from renderkit.request import Link, Request


@dataclass(frozen=True)
class ProviderConfig:
    """One provider entry; ``base_url`` None means the kind's default (``renderkit.catalog.kinds``), which for the
    simulator is the embedded in-process simulator."""

    name: str
    kind: str
    base_url: str | None
    api_key_env: str | None
    rpm: float | None
    max_in_flight: int | None
    poll_interval: float | None
    timeout: float | None
    max_download_mb: float | None = None
    stall_timeout: float | None = None


@dataclass(frozen=True)
class Scene:
    """One fully resolved scene: its render request (without the upstream's key, which the plan adds) and where
    it sits in the manifest and the dependency graph."""

    id: str
    provider: str
    request: Request
    upstream: str | None  # the id of the scene this one builds on and waits for
    line: int
    duration: int  # the output's length: seconds, except an extension's (source + seconds) and its remixes'
    takes: int = 1  # candidates rendered, each the request with take "1".."takes"; ``request`` is the picked one's
    pick: int = 1
    of: str | None = None  # set on a candidate that is not the pick: the id of the scene it is a take of

    @property
    def link(self) -> Link | None:
        """How the scene builds on its upstream: remix_of, continue_from or extend_of."""
        return self.request.link

    @property
    def take(self) -> int | None:
        """Which candidate this is, for a scene with takes (its request's take as a number), else None."""
        return int(self.request.take) if self.takes > 1 and self.request.take is not None else None

    def other_takes(self) -> tuple[Scene, ...]:
        """The candidates besides the pick, as hidden scenes ``ID@takeN``: rendered and cached like any scene,
        but never written as an output (the pick is this scene itself)."""
        return tuple(
            replace(self, id=take_id(self.id, n), request=replace(self.request, take=str(n)), of=self.id)
            for n in range(1, self.takes + 1)
            if n != self.pick
        )


def take_id(scene_id: str, take: int) -> str:
    """The id of candidate ``take`` of a scene (``@`` cannot appear in a scene id, so it never collides)."""
    return f"{scene_id}@take{take}"


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
    remote: str | None = None  # the team's remote cache URL (RENDERKIT_REMOTE overrides it)
    catalog: Catalog = field(default_factory=catalog)  # the packaged catalog with the manifest's models: applied
