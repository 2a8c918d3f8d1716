"""`renderkit build` as a library call: plan, refuse what was not planned, render, pin the lock."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renderkit.errors import InputError, RefusedError
from renderkit.execute.jobs import Event, Job, Outcome, ProviderRuntime, ShotJob
from renderkit.execute.scheduler import Executor
from renderkit.manifest.load import Manifest, ProviderConfig, Scene, load_manifest
from renderkit.plan.plan import Plan, PlanItem, make_plan
from renderkit.plan.state import BuildState, open_state
from renderkit.store.cache import Record
from renderkit.store.journal import Journal
from renderkit.store.layout import OUTPUT_TEMP_SUFFIX, lock_path
from renderkit.store.lockfile import LockEntry, LockShot, write_lock

EMBEDDED_LATENCY = 1.5
DEFAULT_JOBS = 8


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked of this build."""

    jobs: int | None = None
    frozen: bool = False
    max_cost: float | None = None
    shard: tuple[int, int] | None = None
    force: tuple[str, ...] = ()
    cache_dir: Path | None = None


@dataclass(frozen=True)
class SceneReport:
    """One scene's line in the report (the ``--json`` ``scenes`` entries)."""

    id: str
    key: str
    status: str
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
    problems: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> tuple[SceneReport, ...]:
        """Scenes that did not finish."""
        return tuple(s for s in self.scenes if s.status == "failed")

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document."""
        count = {s: sum(1 for r in self.scenes if r.status == s) for s in ("rendered", "cached", "failed")}
        cost = round(sum(r.cost_usd or 0.0 for r in self.scenes if r.status == "rendered"), 6)
        return {
            "manifest": str(self.manifest),
            "scenes": [s.to_json() for s in self.scenes],
            "totals": {**count, "cost_usd": cost},
        }


def shard_of(plan: Plan, shard: tuple[int, int]) -> set[str]:
    """Scene ids in shard K of N; a scene, what it builds on and any scene with the same request share a shard.

    Shards of one plan run on different machines, so splitting two scenes with one request would pay twice.
    """
    parent: dict[str, str] = {item.scene.id: item.scene.id for item in plan.items}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(x: str, y: str) -> None:
        a, b = root(x), root(y)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[str, str] = {}
    for item in plan.items:
        for dep in item.depends_on:
            join(item.scene.id, dep)
        join(item.scene.id, first.setdefault(item.key, item.scene.id))
    k, n = shard
    return {sid for sid in parent if int(hashlib.sha256(root(sid).encode()).hexdigest()[:8], 16) % n == k - 1}


def _refuse_frozen(plan: Plan, state: BuildState) -> None:
    lock = state.lock
    if lock is None:
        raise RefusedError("--frozen: there is no renderkit.lock; run `renderkit build` without --frozen first")
    stale = sorted(
        {i.scene.id for i in plan.items if i.status != "cached"}
        | {i.scene.id for i in plan.items if i.scene.id not in lock.entries or lock.entries[i.scene.id].key != i.key}
        | (set(lock.entries) - {i.scene.id for i in plan.items})
    )
    if stale:
        shown = ", ".join(stale[:10]) + (" …" if len(stale) > 10 else "")
        raise RefusedError(
            f"--frozen: the lock is stale or {len(stale)} scene(s) would render ({shown}); "
            "nothing was sent. Run `renderkit plan` to see why, then build without --frozen"
        )


def _refuse_budget(todo: Sequence[PlanItem], manifest: Manifest, max_cost: float | None) -> None:
    caps = [c for c in (manifest.budget, max_cost) if c is not None]
    if not caps or not todo:
        return
    cap = min(caps)
    unknown = sorted(i.scene.id for i in todo if i.cost_usd is None)
    if unknown:
        raise RefusedError(
            f"a cost cap of ${cap:.2f} is set but the cost of {', '.join(unknown)} cannot be estimated "
            "(unknown model); nothing was sent. Remove the cap for this build or use a catalogued model"
        )
    total = sum(i.cost_usd or 0.0 for i in todo)
    if total > cap + 1e-9:
        which = "budget" if cap == manifest.budget else "--max-cost"
        raise RefusedError(
            f"this build would cost ${total:.2f}, over the {which} of ${cap:.2f}; nothing was sent. "
            "Raise the cap, or build fewer scenes (--shard, or fewer changes)"
        )


def _job(item: PlanItem) -> Job:
    """The executor's job for one planned scene."""
    scene = item.scene
    return Job(
        scene_id=scene.id,
        key=item.key,
        request=item.request,
        provider=scene.provider,
        depends_on=item.depends_on,
        upstream=scene.upstream,
        shots=tuple(ShotJob(shot.key, shot.request) for shot in item.shots),
        duration=scene.duration,
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class Build:
    """One build of one manifest; ``run()`` does the work."""

    def __init__(
        self,
        manifest_path: str | os.PathLike[str],
        options: BuildOptions,
        on_event: Callable[[Event], None],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.manifest = load_manifest(manifest_path)
        self.options = options
        self.on_event = on_event
        self.environ = dict(os.environ if environ is None else environ)
        unknown = sorted(set(options.force) - {s.id for s in self.manifest.scenes})
        if unknown:
            raise InputError(f"--force names unknown scene(s): {', '.join(unknown)}")
        self.state = open_state(self.manifest, self.environ, options.cache_dir)
        self.cache = self.state.cache
        self.plan = make_plan(self.manifest, self.state, force=options.force)

    def output_path(self, scene: Scene) -> Path:
        """Where a scene's MP4 goes."""
        return self.manifest.output_dir / f"{scene.id}.mp4"

    def run(self) -> BuildReport:
        """Check, render and lock; raises RefusedError/InputError before anything is sent."""
        plan = self.plan
        in_shard = shard_of(plan, self.options.shard) if self.options.shard else None
        if self.options.frozen:
            _refuse_frozen(plan, self.state)
        todo = [i for i in plan.items if i.status != "cached" and (in_shard is None or i.scene.id in in_shard)]
        _refuse_budget(todo, self.manifest, self.options.max_cost)
        keys = self._api_keys({i.scene.provider for i in todo})
        try:
            outcomes = self._work(todo, keys, in_shard) if todo or not self._all_outputs_fresh() else {}
        finally:
            self.cache.close()
        report = self._report(outcomes, in_shard)
        if in_shard is None and not report.failed:
            self._remember(report)
        return report

    def _work(self, todo: Sequence[PlanItem], keys: Mapping[str, str], in_shard: set[str] | None) -> dict[str, Outcome]:
        """Render, materialize and lock, holding the cache's build lock and the journal."""
        with self._exclusive():
            journal = Journal(self.cache.layout.journal)
            try:
                self.cache.clean_tmp({f"{e.key}.part" for e in journal.entries.values() if e.state == "completed"})
                # A copy cut short by a killed build leaves its hidden temp beside the outputs; never a partial output.
                for stale in self.manifest.output_dir.glob(f".*{OUTPUT_TEMP_SUFFIX}"):
                    stale.unlink(missing_ok=True)
                outcomes: dict[str, Outcome] = {}
                try:
                    if todo:
                        outcomes = self._execute(todo, journal, keys)
                finally:
                    self._materialize(outcomes, in_shard)
                    self._write_lock(outcomes)
            finally:
                journal.compact()
        return outcomes

    def _remember(self, report: BuildReport) -> None:
        """Record the no-op memo: the next build with nothing changed can answer from stats alone."""
        from renderkit import __version__
        from renderkit.store import memo as noop

        lock_file = lock_path(self.manifest.path)
        watched = [lock_file]
        watched += [self.output_path(s) for s in self.manifest.scenes]
        images = [s.request.image for s in self.manifest.scenes]
        watched += [image.path for image in images if image is not None and image.path is not None]
        cached = BuildReport(
            report.manifest,
            tuple(
                SceneReport(s.id, s.key, "cached", "cached", s.task_id, s.file, s.sha256, s.bytes, 0.0)
                for s in report.scenes
            ),
        )
        memo = {
            "doc": cached.to_json(),
            "warnings": [str(w) for w in self.manifest.warnings],
            "lock": str(lock_file),
        }
        noop.record(self.manifest.path, __version__, self.environ, watched, memo)

    def _api_keys(self, provider_names: set[str]) -> dict[str, str]:
        if not provider_names:
            return {}  # a no-op build must not pay for importing httpx
        from renderkit.providers.registry import api_key_for

        return {
            name: api_key_for(name, cfg.kind, cfg.api_key_env, self.environ)
            for name, cfg in self.manifest.providers.items()
            if name in provider_names
        }

    def _all_outputs_fresh(self) -> bool:
        for item in self.plan.items:
            rec = self.state.record(item.key)
            if rec is None or not self.cache.output_fresh(self.output_path(item.scene), rec.sha256):
                return False
        try:
            return lock_path(self.manifest.path).read_bytes() == self._lock_bytes({})
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        self.cache.root.mkdir(parents=True, exist_ok=True)
        guard = FileLock(str(self.cache.layout.build_lock))
        try:
            guard.acquire(timeout=0)
        except Timeout:
            raise InputError(
                f"another renderkit build is using the cache {self.cache.root}; wait for it to finish "
                "(two builds at once could pay twice for the same render)"
            ) from None
        try:
            yield
        finally:
            guard.release()

    def _execute(self, todo: Sequence[PlanItem], journal: Journal, keys: Mapping[str, str]) -> dict[str, Outcome]:
        import anyio

        jobs = [_job(item) for item in todo]
        known = {}
        for item in self.plan.items:
            rec = self.state.record(item.key) if item.status == "cached" else None
            if rec is not None:
                known[item.scene.id] = rec.task_id
        used = {job.provider for job in jobs}
        scenes = {item.scene.id: item.scene for item in todo}

        async def main() -> dict[str, Outcome]:
            import httpx

            async with contextlib.AsyncExitStack() as stack:
                client = await stack.enter_async_context(
                    httpx.AsyncClient(
                        timeout=httpx.Timeout(60.0, connect=10.0),
                        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
                        trust_env=False,
                    )
                )
                runtimes = {
                    name: self._runtime(self.manifest.providers[name], keys[name], client, stack)
                    for name in sorted(used)
                }
                executor = Executor(
                    cache=self.cache,
                    journal=journal,
                    providers=runtimes,
                    on_event=self.on_event,
                    force=self.options.force,
                    on_record=lambda scene_id, rec: self._write_output(scenes[scene_id], rec),
                )
                return await executor.run(jobs, known)

        return anyio.run(main)

    def _runtime(self, cfg: ProviderConfig, key: str, client: Any, stack: contextlib.AsyncExitStack) -> ProviderRuntime:
        import anyio

        from renderkit.execute.pacing import TokenBucket
        from renderkit.providers.registry import open_provider

        base_url = cfg.base_url
        if base_url is None:
            from renderkit.simulator import SimConfig, Simulator

            sim = stack.enter_context(Simulator(SimConfig(latency=EMBEDDED_LATENCY)))
            base_url = sim.base_url
        provider = open_provider(
            cfg.kind, base_url=base_url, api_key=key, client=client, name=cfg.name, api_key_env=cfg.api_key_env
        )
        slots = self.options.jobs or cfg.max_in_flight or DEFAULT_JOBS
        if cfg.max_in_flight is not None:
            slots = min(slots, cfg.max_in_flight)
        return ProviderRuntime(
            provider=provider,
            kind=cfg.kind,
            slots=anyio.CapacityLimiter(slots),
            creates=TokenBucket(cfg.rpm / 60.0 if cfg.rpm else None),
            polls=TokenBucket(None),
            poll_interval=cfg.poll_interval,
            deadline=cfg.timeout or 3600.0,
        )

    def _record_for(self, item: PlanItem, outcomes: Mapping[str, Outcome]) -> Record | None:
        outcome = outcomes.get(item.scene.id)
        if outcome is not None:
            return outcome.record
        return self.state.record(item.key) if self.state.cached(item.key) else None

    def _write_output(self, scene: Scene, rec: Record) -> None:
        """Write one scene's output as soon as its render is cached, while other scenes still render.

        A failure here is left to ``_materialize``, which runs after the executor, tries again and reports it.
        """
        dest = self.output_path(scene)
        with contextlib.suppress(OSError):
            if not self.cache.output_fresh(dest, rec.sha256):
                self.cache.materialize(rec, dest, verify=False)

    def _materialize(self, outcomes: dict[str, Outcome], in_shard: set[str] | None) -> None:
        for item in self.plan.items:
            if in_shard is not None and item.scene.id not in in_shard:
                continue
            rec = self._record_for(item, outcomes)
            if rec is None:
                continue
            dest = self.output_path(item.scene)
            if self.cache.output_fresh(dest, rec.sha256):
                continue
            if not self.cache.materialize(rec, dest):
                outcomes[item.scene.id] = Outcome(
                    item.scene.id,
                    item.key,
                    error=(
                        f"the cached render is corrupt or missing and was dropped ({'; '.join(self.cache.problems)}); "
                        "run `renderkit plan` to see the cost of rendering it again"
                    ),
                )

    def _entries(self, outcomes: Mapping[str, Outcome]) -> list[LockEntry]:
        entries = []
        old = self.state.lock.entries if self.state.lock else {}
        for item in self.plan.items:
            scene = item.scene
            rec = self._record_for(item, outcomes)
            outcome = outcomes.get(scene.id)
            if rec is not None and (outcome is None or outcome.error is None):
                entries.append(
                    LockEntry(
                        id=scene.id,
                        key=item.key,
                        provider_kind=rec.provider_kind,
                        model=scene.request.model,
                        size=scene.request.size,
                        seconds=scene.duration,
                        task_id=rec.task_id,
                        file=_relative(self.output_path(scene), self.manifest.root),
                        sha256=rec.sha256,
                        bytes=rec.bytes,
                        shots=tuple(LockShot(s["key"], s["task_id"], s["sha256"]) for s in rec.shots),
                    )
                )
            elif scene.id in old:
                entries.append(old[scene.id])  # still pins the file on disk until a render replaces it
        return entries

    def _lock_bytes(self, outcomes: Mapping[str, Outcome]) -> bytes:
        from renderkit.store.lockfile import Lock

        return Lock({e.id: e for e in self._entries(outcomes)}).to_bytes()

    def _write_lock(self, outcomes: Mapping[str, Outcome]) -> None:
        write_lock(lock_path(self.manifest.path), self._entries(outcomes))

    def _report(self, outcomes: Mapping[str, Outcome], in_shard: set[str] | None) -> BuildReport:
        scenes = []
        for item in self.plan.items:
            scene = item.scene
            outcome = outcomes.get(scene.id)
            rec = self._record_for(item, outcomes)
            file = _relative(self.output_path(scene), self.manifest.root)
            if outcome is not None and (outcome.error is not None or outcome.record is None):
                scenes.append(
                    SceneReport(scene.id, item.key, "failed", outcome.error or "failed", outcome.task_id, cost_usd=None)
                )
            elif outcome is not None and rec is not None:
                scenes.append(
                    SceneReport(
                        scene.id,
                        item.key,
                        "rendered",
                        f"same request as {outcome.shared_with}" if outcome.shared_with else item.reason,
                        rec.task_id,
                        file,
                        rec.sha256,
                        rec.bytes,
                        0.0 if outcome.shared_with else item.cost_usd,
                    )
                )
            elif rec is not None:
                scenes.append(
                    SceneReport(scene.id, item.key, "cached", "cached", rec.task_id, file, rec.sha256, rec.bytes, 0.0)
                )
            else:
                why = "not in this shard" if in_shard is not None and scene.id not in in_shard else item.reason
                scenes.append(SceneReport(scene.id, item.key, item.status, why, cost_usd=item.cost_usd))
        return BuildReport(self.manifest.path, tuple(scenes), tuple(self.cache.problems))
