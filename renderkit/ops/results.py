"""What a build reports: one line per scene, and the ``--json`` document."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "id": self.id,
            "key": self.key,
            "status": self.status,
            "reason": self.reason,
            "task_id": self.task_id,
            "file": self.file,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "cost_usd": self.cost_usd,
        }


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    manifest: Path
    scenes: tuple[SceneReport, ...]
    problems: tuple[str, ...] = field(default=())  # what the cache found wrong (corrupt blobs, records)
    warnings: tuple[str, ...] = field(default=())  # the manifest's warnings (unknown models)

    @property
    def failed(self) -> tuple[SceneReport, ...]:
        """Scenes that did not finish."""
        return tuple(s for s in self.scenes if s.status == "failed")

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document."""
        count = {s: sum(1 for r in self.scenes if r.status == s) for s in ("rendered", "cached", "failed")}
        rendered = [r for r in self.scenes if r.status == "rendered"]
        cost = float(round(sum(r.cost_usd or 0.0 for r in rendered), 6))  # 0.0, never 0: a stable type
        unknown = sum(1 for r in rendered if r.cost_usd is None)
        return {
            "manifest": str(self.manifest.absolute()),
            "scenes": [s.to_json() for s in self.scenes],
            "totals": {**count, "cost_usd": cost, "unknown_cost": unknown},
        }
