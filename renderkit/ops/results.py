"""What a build reports: one line per scene, and the ``--json`` document."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

# Statuses of a built scene; "render" and "blocked" are a plan's, for scenes left to another shard.
Status = Literal["cached", "rendered", "failed", "render", "blocked", "resume"]


@dataclass(frozen=True)
class SceneReport:
    """One scene's line in the report (the ``--json`` ``scenes`` entries)."""

    id: str
    key: str
    status: Status
    reason: str
    task_id: str | None = None
    file: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    cost_usd: float | None = None
    take: int | None = None  # which candidate this is, for a scene with takes
    others: tuple[SceneReport, ...] = ()  # the candidates that are not the pick

    @property
    def renders(self) -> tuple[SceneReport, ...]:
        """This render and the scene's other candidates."""
        return (self, *self.others)

    def cached(self) -> SceneReport:
        """This report as the next build with nothing changed gives it: every render cached, nothing spent."""
        if (self.status, self.reason, self.cost_usd, self.others) == ("cached", "cached", 0.0, ()):
            return self  # already so (a no-op build): replace() costs more than the whole comparison
        return replace(
            self, status="cached", reason="cached", cost_usd=0.0, others=tuple(o.cached() for o in self.others)
        )

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form; a scene with takes lists every candidate under ``takes``."""
        doc: dict[str, Any] = {
            "id": self.id,
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "task_id": self.task_id,
            "file": self.file,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "cost_usd": self.cost_usd,
            "takes": None,
        }
        if self.take is not None:
            doc["takes"] = [
                {
                    "id": r.id,
                    "take": r.take,
                    "picked": r is self,
                    "key": r.key,
                    "status": r.status,
                    "reason": r.reason,
                    "task_id": r.task_id,
                    "sha256": r.sha256,
                    "cost_usd": r.cost_usd,
                }
                for r in sorted(self.renders, key=lambda r: r.take or 0)
            ]
        return doc


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    manifest: Path
    scenes: tuple[SceneReport, ...]
    problems: tuple[str, ...] = field(default=())  # what the cache found wrong (corrupt blobs, records)
    warnings: tuple[str, ...] = field(default=())  # the manifest's warnings (unknown models)

    @property
    def renders(self) -> tuple[SceneReport, ...]:
        """Every render: each scene's, and the other candidates of scenes with takes."""
        return tuple(r for s in self.scenes for r in s.renders)

    @property
    def failed(self) -> tuple[SceneReport, ...]:
        """Renders that did not finish."""
        return tuple(s for s in self.renders if s.status == "failed")

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document; its totals count renders (every candidate of a scene with takes)."""
        count = {s: sum(1 for r in self.renders if r.status == s) for s in ("rendered", "cached", "failed")}
        rendered = [r for r in self.renders if r.status == "rendered"]
        cost = float(round(sum(r.cost_usd or 0.0 for r in rendered), 6))  # 0.0, never 0: a stable type
        unknown = sum(1 for r in rendered if r.cost_usd is None)
        return {
            "manifest": str(self.manifest.absolute()),
            "scenes": [s.to_json() for s in self.scenes],
            "totals": {**count, "cost_usd": cost, "unknown_cost": unknown},
        }
