"""Where a build's renders land: ``renders/<id>.mp4`` beside the manifest, and the entries of its lock."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from renderkit.manifest.model import Manifest, Scene
from renderkit.plan.plan import PlanItem
from renderkit.store.cache import Cache, Record
from renderkit.store.layout import OUTPUT_TEMP_SUFFIX, output_temp
from renderkit.store.lockfile import Lock, LockEntry, LockShot, LockTake


class Outputs:
    """The output files of one manifest, copied from the cache."""

    def __init__(self, manifest: Manifest, cache: Cache) -> None:
        self.manifest = manifest
        self.cache = cache
        self._folder = str(manifest.output_dir)
        try:
            self._relative = manifest.output_dir.relative_to(manifest.root).as_posix()
        except ValueError:
            self._relative = manifest.output_dir.as_posix()

    def path(self, scene: Scene) -> Path:
        """Where a scene's MP4 goes."""
        return Path(self.location(scene))

    def location(self, scene: Scene) -> str:
        """``path`` as a string: loops over every scene of a no-op build cannot afford a Path each."""
        return os.path.join(self._folder, f"{scene.id}.mp4")

    def relative(self, scene: Scene) -> str:
        """The output's path relative to the manifest, as the lock and the report write it."""
        return f"{scene.id}.mp4" if self._relative == "." else f"{self._relative}/{scene.id}.mp4"

    def clean_temps(self) -> None:
        """Remove the hidden temp of a copy cut short by a killed build; an output is never partial."""
        for stale in self.manifest.output_dir.glob(f".*{OUTPUT_TEMP_SUFFIX}"):
            stale.unlink(missing_ok=True)

    def fresh(self, scene: Scene, record: Record) -> bool:
        """Whether the scene's output is still the file renderkit wrote from this record (stat check only)."""
        return self.cache.output_fresh(self.path(scene), record.sha256)

    def all_fresh(self, items: Iterable[PlanItem], records: Mapping[str, Record]) -> bool:
        """Whether every item has a record and its output is the file renderkit wrote from it (a few queries)."""
        wanted = {}
        for item in items:
            record = records.get(item.scene.id)
            if record is None:
                return False
            wanted[self.location(item.scene)] = record.sha256
        return len(self.cache.fresh_outputs(wanted)) == len(wanted)

    def early_copy(self, scene: Scene) -> Path:
        """Where a scene's download may write its output as it comes: the temp that ``write_now`` renames."""
        return output_temp(self.path(scene))

    def write_now(self, scene: Scene, record: Record) -> None:
        """Put a render in place as soon as it is cached; a failure is left to ``materialize``, which retries."""
        with contextlib.suppress(OSError):
            if self.fresh(scene, record):
                self.early_copy(scene).unlink(missing_ok=True)
            else:
                self.cache.materialize(record, self.path(scene), verify=False)

    def materialize(self, items: Iterable[PlanItem], records: Mapping[str, Record]) -> dict[str, str]:
        """Bring every output up to date from its record; return scene id -> error for blobs that failed."""
        errors = {}
        for item in items:
            record = records.get(item.scene.id)
            if record is None or self.fresh(item.scene, record):
                continue
            try:
                written = self.cache.materialize(record, self.path(item.scene))
            except OSError as exc:
                errors[item.scene.id] = (
                    f"cannot write {self.relative(item.scene)}: {exc.strerror or exc}; the render is cached, so "
                    "fixing this and building again costs nothing"
                )
                continue
            if not written:
                errors[item.scene.id] = (
                    f"the cached render is corrupt or missing and was dropped ({'; '.join(self.cache.problems)}); "
                    "run `renderkit plan` to see the cost of rendering it again"
                )
        return errors

    def lock_entries(
        self, items: Iterable[PlanItem], records: Mapping[str, Record], failed: Iterable[str], old: Lock | None
    ) -> list[LockEntry]:
        """The lock's entries: each scene's render, or its previous entry while it has none (it still pins the
        file on disk until a render replaces it)."""
        failed = set(failed)
        previous = old.entries if old else {}
        entries = []
        for item in items:
            scene = item.scene
            record = records.get(scene.id)
            delivered = (record.delivered if record is not None else None) or {}
            if record is not None and scene.id not in failed:
                pinned = {t.key: t for t in previous[scene.id].takes} if scene.id in previous else {}
                entries.append(
                    LockEntry(
                        id=scene.id,
                        key=item.key,
                        provider_kind=record.provider_kind,
                        model=scene.request.model,
                        size=str(delivered.get("size", scene.request.size)),
                        seconds=int(delivered.get("seconds", scene.duration)),
                        task_id=record.task_id,
                        file=self.relative(scene),
                        sha256=record.sha256,
                        bytes=record.bytes,
                        shots=tuple(LockShot(s["key"], s["task_id"], s["sha256"]) for s in record.shots),
                        takes=_takes(item, records, failed, pinned),
                    )
                )
            elif scene.id in previous:
                entries.append(previous[scene.id])
        return entries


def _takes(
    item: PlanItem, records: Mapping[str, Record], failed: set[str], pinned: Mapping[str, LockTake]
) -> tuple[LockTake, ...]:
    """The candidates of a scene with takes: each one rendered, else its previous pin (a --frozen build does not
    restore candidates it does not write)."""
    out = []
    for take in item.takes:
        record = records.get(take.scene.id)
        number = take.scene.take or 0
        if record is not None and take.scene.id not in failed:
            out.append(LockTake(number, take.key, record.task_id, record.sha256))
        elif take.key in pinned:
            out.append(pinned[take.key])
    return tuple(out)
