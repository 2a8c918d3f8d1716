"""`renderkit report`: a static page for reviewing renders the way people review video, by watching them.

What the page shows comes from the manifest, the plan, the lock and the cache: the lock pins each output's file
and sha256, a cache record holds the request a render was made from, and the blob store holds every candidate of
a scene with takes and every older render. The page opens from disk with no network (inline CSS and script;
videos and posters by relative path). Poster frames are decoded once per blob and kept under the cache's
``posters/``, so a second report decodes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from renderkit.errors import InputError
from renderkit.manifest.model import Manifest
from renderkit.ops.report_html import render
from renderkit.ops.report_model import Page, SceneView, ShotView, Tile, Video
from renderkit.plan.diff import Change, Diff, compare
from renderkit.plan.plan import Plan, PlanItem, make_plan
from renderkit.plan.state import BuildState, open_state
from renderkit.store.files import atomic_write
from renderkit.store.layout import REPORT_DIR_NAME, ReportLayout, lock_path
from renderkit.store.lockfile import Lock, LockEntry, parse_lock, read_lock

POSTER_WIDTH = 480
THUMB_WIDTH = 240
GIT_PREFIX = "git:"


def write_report(
    manifest: Manifest, out: Path | None = None, against: str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Write the report of ``manifest`` into ``out`` (default: ``report/`` in the output folder); return the page.

    ``against`` is an older lock (a path, or ``git:REF`` for the lock at a git ref); reading it happens before
    anything is written, so a bad one is an InputError with nothing written.
    """
    state = open_state(manifest, environ)
    plan = make_plan(manifest, state)
    old = read_against(against, manifest) if against is not None else None
    layout = ReportLayout(out if out is not None else manifest.output_dir / REPORT_DIR_NAME)
    if layout.root.exists() and not layout.root.is_dir():
        raise InputError(f"--out {layout.root}: is a file; name a folder for the report")
    diff = compare(plan, old, state.lock) if old is not None else None
    try:
        gather = _Gather(manifest, state, plan, layout, old)
        page = gather.page(diff, against)
    finally:
        state.cache.close()
    layout.root.mkdir(parents=True, exist_ok=True)
    atomic_write(layout.index, render(page).encode("utf-8"))
    for folder in (layout.media, layout.posters):
        for stale in folder.glob("*") if folder.is_dir() else ():
            if stale not in gather.used:
                stale.unlink(missing_ok=True)
    return layout.index


def read_against(spec: str, manifest: Manifest) -> Lock:
    """The older lock ``--against`` names: a lock file, or ``git:REF`` for the manifest's lock at that ref."""
    if spec.startswith(GIT_PREFIX):
        ref = spec.removeprefix(GIT_PREFIX)
        lock = lock_path(manifest.path)
        try:
            shown = subprocess.run(
                ["git", "-C", str(lock.parent), "show", f"{ref}:./{lock.name}"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"--against {spec}: cannot run git ({exc})") from None
        if shown.returncode != 0:
            why = shown.stderr.decode("utf-8", "replace").strip().splitlines() or ["git failed"]
            raise InputError(f"--against {spec}: git cannot show {lock.name} at {ref!r}: {why[-1]}")
        try:
            doc = json.loads(shown.stdout)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"--against {spec}: {lock.name} at {ref!r} is not a renderkit lock ({exc})") from None
        return parse_lock(doc, f"{ref}:{lock.name}")
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"--against {spec}: no such lock file; give a lock path or git:REF")
    found = read_lock(path)
    assert found is not None  # the file exists
    return found


class _Gather:
    """Builds the page's model; copies what it shows into the report folder and remembers each copy."""

    def __init__(self, manifest: Manifest, state: BuildState, plan: Plan, layout: ReportLayout, old: Lock | None):
        self.manifest = manifest
        self.cache = state.cache
        self.lock = state.lock
        self.plan = plan
        self.layout = layout
        self.old = old
        self.used: set[Path] = set()

    def page(self, diff: Diff | None, against: str | None) -> Page:
        """The whole page."""
        scenes = {item.scene.id: self._scene(item, diff) for item in self.plan.items}
        chains: dict[str, list[SceneView]] = {}
        by_id = {item.scene.id: item for item in self.plan.items}
        for item in self.plan.items:  # dependency order: every upstream comes before its dependents
            top = item
            while top.scene.upstream is not None:
                top = by_id[top.scene.upstream]
            chains.setdefault(top.scene.id, []).append(scenes[item.scene.id])
        removed = tuple(self._removed(entry) for entry in diff.removed) if diff is not None else ()
        return Page(
            title=self.manifest.path.name,
            chains=tuple(tuple(chain) for chain in chains.values()),
            removed=removed,
            plan=self.plan,
            diff=diff,
            against=against,
        )

    def _scene(self, item: PlanItem, diff: Diff | None) -> SceneView:
        change = diff.changes[item.scene.id] if diff is not None else None
        renders = item.takes or (item,)
        return SceneView(item.scene.id, tuple(self._tile(r, item, change) for r in renders), change)

    def _tile(self, render: PlanItem, item: PlanItem, change: Change | None) -> Tile:
        scene, request = render.scene, render.request
        before = before_prompt = None
        if change == "changed" and render is item and self.old is not None:
            old = self.old.entries[item.scene.id]
            before = self._older(old)
            before_prompt = self._prompt_of(old)
        return Tile(
            id=scene.id,
            scene=item.scene.id,
            prompt=request.prompt,
            model=request.model,
            size=request.size,
            seconds=scene.duration,
            status=render.status,
            reason=render.reason,
            price_usd=render.price_usd,
            key=render.key,
            video=self._current(render),
            take=scene.take,
            picked=render is item and scene.takes > 1,
            link=scene.link,
            upstream=scene.upstream,
            shots=self._shots(render),
            shot_renders=bool(render.shots),
            change=change if render is item else None,
            before=before,
            before_prompt=before_prompt,
        )

    def _removed(self, entry: LockEntry) -> Tile:
        return Tile(
            id=entry.id,
            scene=entry.id,
            prompt=self._prompt_of(entry) or "(the cache no longer holds its request)",
            model=entry.model,
            size=entry.size,
            seconds=entry.seconds,
            status="removed",
            reason=f"no longer in the manifest; {entry.file} is left in place",
            price_usd=None,
            key=entry.key,
            video=self._older(entry),
            change="removed",
        )

    def _prompt_of(self, entry: LockEntry) -> str | None:
        """The prompt an older render was made from, when the cache still holds its record."""
        record = self.cache.get(entry.key)
        prompt = record.request.get("prompt") if record is not None else None
        return prompt if isinstance(prompt, str) else None

    def _current(self, render: PlanItem) -> Video:
        """The render of the plan's key: the output file the lock pins for it, else the cache's blob."""
        entry = self.lock.entries.get(render.scene.id) if self.lock is not None else None
        if entry is not None and entry.key == render.key:
            output = self.manifest.root / entry.file
            try:
                at_hand = output.stat().st_size == entry.bytes
            except OSError:
                at_hand = False
            if at_hand:
                return self._video(entry.sha256, entry.bytes, entry.task_id, output)
        record = self.cache.usable(render.key)
        if record is not None:
            return self._video(record.sha256, record.bytes, record.task_id)
        what = "not rendered yet" if render.status != "cached" else "not at hand"
        return Video(None, None, note=f"{what}: {render.status} ({render.reason}); run `renderkit build`")

    def _older(self, entry: LockEntry) -> Video:
        """The render an older lock pins: from the blob store, or the output file while it still holds it."""
        video = self._video(entry.sha256, entry.bytes, entry.task_id)
        if video.src is None and self.lock is not None and entry.id in self.lock.entries:
            now = self.lock.entries[entry.id]
            output = self.manifest.root / now.file
            if now.sha256 == entry.sha256 and output.is_file() and output.stat().st_size == entry.bytes:
                return self._video(entry.sha256, entry.bytes, entry.task_id, output)
        return video

    def _video(self, sha256: str, size: int, task_id: str, output: Path | None = None) -> Video:
        if output is None:
            output = self.layout.video(sha256)
            if not self.cache.export_blob(sha256, size, output):
                note = f"the cache no longer holds this render (sha256 {sha256[:12]}…), so it cannot be shown"
                return Video(None, None, sha256, task_id, note)
            self.used.add(output)
        source = self.cache.blob_path(sha256) if self.cache.has_blob(sha256, size) else output
        return Video(self._url(output), self._poster(sha256, source, POSTER_WIDTH), sha256, task_id)

    def _shots(self, render: PlanItem) -> tuple[ShotView, ...]:
        board = render.request.storyboard
        if not render.shots:
            return tuple(ShotView(s.prompt, s.seconds) for s in board)
        entry = self.lock.entries.get(render.scene.id) if self.lock is not None else None
        pinned = {s.key: s for s in entry.shots} if entry is not None else {}
        out = []
        for shot, planned in zip(board, render.shots, strict=True):
            # The cache record of the shot's key, else what the lock pins for it.
            record, pin = self.cache.usable(planned.key), pinned.get(planned.key)
            task = record.task_id if record else pin.task_id if pin else None
            sha = record.sha256 if record else pin.sha256 if pin else None
            blob = self.cache.blob_path(sha) if sha else None
            thumb = self._poster(sha, blob, THUMB_WIDTH) if sha and blob and blob.is_file() else None
            out.append(ShotView(shot.prompt, shot.seconds, planned.key, task, sha, thumb))
        return tuple(out)

    def _poster(self, sha256: str, source: Path, width: int) -> str | None:
        """The poster frame of a blob, decoded once into the cache and copied beside the page."""
        cached = self.cache.layout.poster(sha256, width)
        if not cached.is_file():
            from renderkit.execute import video

            try:
                data = video.poster(source, width)
            except (OSError, video.Mp4Problem):
                return None
            cached.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cached, data)
        copy = self.layout.posters / cached.name
        if not copy.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, copy)
        self.used.add(copy)
        return self._url(copy)

    def _url(self, target: Path) -> str:
        """A URL relative to the page, so it opens from disk wherever the folder is."""
        return quote(Path(os.path.relpath(target.resolve(), self.layout.root.resolve())).as_posix())
