"""`renderkit build` as a library call: plan, refuse what was not planned, render, pin the lock.

The plan is made twice when there is work: once without the build lock, so a refusal (``--frozen``, a cost cap,
a missing key) writes nothing, and again while holding it, so that a build which waited for another one sees
that build's renders as cached and never pays for them again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from renderkit.errors import BusyError, InputError, ProviderError, StorageError
from renderkit.execute.events import Event, Outcome, ProviderUnusable, StorageFailed
from renderkit.manifest.load import load_manifest
from renderkit.manifest.model import Manifest
from renderkit.ops.outputs import Outputs
from renderkit.ops.results import BuildReport, SceneReport
from renderkit.ops.sharing import Sharing
from renderkit.plan.plan import Plan, PlanItem, make_plan
from renderkit.plan.policy import refuse_budget, refuse_frozen, shard_of
from renderkit.plan.state import BuildState, open_state
from renderkit.store.cache import Record
from renderkit.store.journal import Journal
from renderkit.store.layout import BUILD_LOCK_WAIT, lock_path
from renderkit.store.lockfile import Lock, LockEntry, write_lock

if TYPE_CHECKING:  # a build with nothing to render loads neither the executor nor httpx
    import httpx

    from renderkit.execute.jobs import Job

__all__ = ["Build", "BuildOptions", "BuildReport", "SceneReport"]


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked of this build."""

    jobs: int | None = None
    frozen: bool = False
    max_cost: float | None = None
    shard: tuple[int, int] | None = None
    force: tuple[str, ...] = ()
    cache_dir: Path | None = None
    wait: float = BUILD_LOCK_WAIT  # seconds to wait for another build that holds the cache


@dataclass(frozen=True)
class _Prepared:
    """A plan and what this build would render of it."""

    manifest: Manifest
    state: BuildState
    plan: Plan
    todo: tuple[PlanItem, ...]
    in_shard: set[str] | None


def _job(item: PlanItem, outputs: Outputs) -> Job:
    """The executor's job for one planned scene; a scene with an output of its own has it written as it downloads."""
    from renderkit.execute.jobs import Job, ShotJob

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
        copy_to=outputs.early_copy(scene) if scene.of is None and not item.shots else None,
    )


class Build:
    """One build of one manifest; nothing is read or written until ``run()``.

    ``on_event`` hears every scene's progress; ``on_plan`` hears the plan the build executes and what it will
    render; ``transport`` replaces the network for every provider (an ``httpx`` transport).
    """

    def __init__(
        self,
        manifest_path: str | os.PathLike[str],
        options: BuildOptions | None = None,
        on_event: Callable[[Event], None] | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        on_plan: Callable[[Plan, Sequence[PlanItem]], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.manifest_path = Path(manifest_path)
        self.options = options or BuildOptions()
        self.on_event = on_event or (lambda event: None)
        self.on_plan = on_plan or (lambda plan, todo: None)
        self.environ = dict(os.environ if environ is None else environ)
        self.transport = transport

    def run(self) -> BuildReport:
        """Check, render and lock; raises RefusedError, InputError or BusyError before anything is sent."""
        manifest = load_manifest(self.manifest_path)
        known = {s.id for scene in manifest.scenes for s in (scene, *scene.other_takes())}
        unknown = sorted(set(self.options.force) - known)
        if unknown:
            raise InputError(f"--force names unknown scene(s): {', '.join(unknown)}")
        first = self._prepare(manifest)
        sharing = self._restore(first)
        for warning in sharing.unsaid():
            self.on_event(Event("", "warning", warning))
        if sharing.found:
            first = self._prepare(manifest)  # the plan again, with what was adopted or pulled now cached
        self._refuse(first)
        keys = self._api_keys(manifest, {i.scene.provider for i in first.todo})
        outputs = Outputs(manifest, first.state.cache)
        if not first.todo:
            records = self._records(first, {}, afresh=False)
            if self._up_to_date(first, outputs, records):
                sharing.push_mine(self._mine(first))
                first.state.cache.close()
                return self._finish(first, {}, records, sharing)
        with self._exclusive(first.state):
            # Under the lock: another build may have rendered what the first plan would have paid for.
            prepared = self._prepare(manifest)
            self._refuse(prepared)
            self.on_plan(prepared.plan, prepared.todo)
            outcomes: dict[str, Outcome] = {}
            journal = Journal(prepared.state.cache.layout.journal)
            outputs = Outputs(manifest, prepared.state.cache)
            try:
                keep = {f"{e.key}.part" for e in journal.entries.values() if e.state == "completed"}
                prepared.state.cache.clean_tmp(keep)
                outputs.clean_temps()
                if prepared.todo:
                    outcomes = self._execute(prepared, journal, keys, outputs, sharing)
            except ProviderUnusable as exc:
                raise ProviderError(f"{exc}; the build stopped there, so no other create was sent") from None
            except StorageFailed as exc:
                raise StorageError(str(exc)) from None
            finally:
                # Also on Ctrl-C, SIGTERM and a full disk: every render that finished is materialized and locked.
                records = self._records(prepared, outcomes)
                for scene_id, error in outputs.materialize(self._mine(prepared), records).items():
                    outcomes[scene_id] = Outcome(scene_id, records[scene_id].key, error=error)
                    del records[scene_id]
                failed = {s for s, o in outcomes.items() if o.error is not None}
                lock_problem = None
                if prepared.in_shard is None:
                    # A shard leaves the lock alone: every shard must split the same committed lock, and the
                    # build that assembles the shards' renders writes the whole lock.
                    entries = outputs.lock_entries(prepared.plan.items, records, failed, prepared.state.lock)
                    lock_problem = self._write_lock(lock_path(manifest.path), entries)
                with contextlib.suppress(OSError):
                    journal.compact()  # a journal that cannot be compacted is still whole
                sharing.push_mine(self._mine(prepared))
                prepared.state.cache.close()
        if lock_problem is not None:
            raise StorageError(lock_problem)
        return self._finish(prepared, outcomes, records, sharing)

    def _write_lock(self, path: Path, entries: Sequence[LockEntry]) -> str | None:
        """Write the lock; on a disk error, say so now (an interrupt may be on its way out) and return why."""
        try:
            write_lock(path, entries)
        except OSError as exc:
            problem = (
                f"cannot write the lock {path}: {exc.strerror or exc}; every render is cached, so fixing this "
                "and building again costs nothing"
            )
            self.on_event(Event("", "warning", problem))
            return problem
        return None

    def _prepare(self, manifest: Manifest) -> _Prepared:
        """Plan against the lock and cache as they are now, and pick what this build (or shard) renders."""
        options = self.options
        state = open_state(manifest, self.environ, options.cache_dir)
        plan = make_plan(manifest, state, force=options.force)
        in_shard = shard_of(plan, options.shard, state.lock) if options.shard else None
        todo = tuple(
            r
            for r in plan.to_render
            if (in_shard is None or r.scene.id in in_shard)
            # --frozen restores outputs; the candidates that were not picked are for review, and no output needs them.
            and not (options.frozen and r.scene.of is not None)
        )
        return _Prepared(manifest, state, plan, todo, in_shard)

    def _refuse(self, prepared: _Prepared) -> None:
        """Apply --frozen and the cost caps to what is left to render; RefusedError before anything is sent."""
        if self.options.frozen:
            refuse_frozen(prepared.plan, prepared.state.lock, lock_path(prepared.manifest.path).name)
        refuse_budget(prepared.todo, prepared.manifest.budget, self.options.max_cost)

    def _restore(self, prepared: _Prepared) -> Sharing:
        """Before paying: adopt the outputs the lock pins, then pull from the remote what is still missing."""
        cache = prepared.state.cache
        sharing = Sharing(cache, self.environ, prepared.manifest.remote)
        # What the cache lacks: the plan counts an output the lock pins as cached, but it still has to be adopted.
        force = self.options.force
        missing = [
            i
            for i in prepared.plan.renders
            if i.scene.id not in force
            and i.scene.of not in force
            and (i.status != "cached" or not prepared.state.cached(i.key))
            and (prepared.in_shard is None or i.scene.id in prepared.in_shard)
        ]
        if missing:
            sharing.adopt(missing, prepared.state.lock, Outputs(prepared.manifest, cache))
            sharing.pull([i for i in missing if i.scene.id not in sharing.adopted])
        return sharing

    def _mine(self, prepared: _Prepared) -> list[PlanItem]:
        """The scenes whose outputs this build writes (its shard's, or all), each with its other candidates."""
        in_shard = prepared.in_shard
        return [i for i in prepared.plan.items if in_shard is None or i.scene.id in in_shard]

    def _records(
        self, prepared: _Prepared, outcomes: Mapping[str, Outcome], *, afresh: bool = True
    ) -> dict[str, Record]:
        """Scene id -> the finished render each scene has now: this build's, else the cache's.

        ``afresh`` reads the index again (after execution or an interrupt, renders finished that the plan did not
        see); without it the plan's own reads are reused.
        """
        state = prepared.state
        records: dict[str, Record] = {}
        by_key: dict[str, Record | None] = {}
        for item in prepared.plan.renders:
            outcome = outcomes.get(item.scene.id)
            if outcome is not None:
                if outcome.record is not None and outcome.error is None:
                    records[item.scene.id] = outcome.record
                continue
            if item.key not in by_key:
                if afresh:
                    by_key[item.key] = state.cache.usable(item.key)
                else:
                    by_key[item.key] = state.record(item.key) if state.cached(item.key) else None
            if (found := by_key[item.key]) is not None:
                records[item.scene.id] = found
        return records

    def _up_to_date(self, prepared: _Prepared, outputs: Outputs, records: Mapping[str, Record]) -> bool:
        """Nothing to render, every output is the file renderkit wrote, and the lock already says so."""
        items = prepared.plan.items
        if not outputs.all_fresh(items, records):
            return False
        entries = outputs.lock_entries(items, records, (), prepared.state.lock)
        return prepared.state.lock == Lock({e.id: e for e in entries})

    def _api_keys(self, manifest: Manifest, provider_names: set[str]) -> dict[str, str]:
        if not provider_names:
            return {}  # a no-op build must not pay for importing httpx's adapters
        from renderkit.providers.registry import api_key_for

        return {
            name: api_key_for(name, cfg.kind, cfg.api_key_env, self.environ)
            for name, cfg in manifest.providers.items()
            if name in provider_names
        }

    @contextlib.contextmanager
    def _exclusive(self, state: BuildState) -> Iterator[None]:
        """Hold the cache's build lock, waiting up to ``options.wait`` seconds for another build to finish."""
        from filelock import FileLock, Timeout

        layout = state.cache.layout
        guard = FileLock(str(layout.build_lock))
        try:
            layout.root.mkdir(parents=True, exist_ok=True)
            guard.acquire(timeout=0)
        except Timeout:  # before OSError: filelock's Timeout is one
            self.on_event(Event("", "waiting", f"for another renderkit build using the cache {layout.root}"))
            try:
                guard.acquire(timeout=self.options.wait)
            except Timeout:
                raise BusyError(layout.root, self.options.wait) from None
        except OSError as exc:
            raise StorageError(
                f"cannot use the cache folder {layout.root}: {exc.strerror or exc}; fix its permissions or point "
                "RENDERKIT_CACHE_DIR elsewhere"
            ) from None
        try:
            yield
        finally:
            guard.release()

    def _execute(
        self, prepared: _Prepared, journal: Journal, keys: Mapping[str, str], outputs: Outputs, sharing: Sharing
    ) -> dict[str, Outcome]:
        from renderkit.providers import tls

        tls.prepare()  # the CA bundle is read on a spare core while the HTTP stack is imported
        import anyio

        from renderkit.execute.scheduler import Executor
        from renderkit.ops.connect import open_runtimes

        jobs = [_job(item, outputs) for item in prepared.todo]
        cache = prepared.state.cache
        known = {}
        for item in prepared.plan.items:
            record = cache.get(item.key) if item.status == "cached" else None
            if record is not None:
                known[item.scene.id] = record.task_id
        # Outputs are written for scenes; a candidate that is not the pick stays in the cache.
        scenes = {item.scene.id: item.scene for item in prepared.todo if item.scene.of is None}
        used = {job.provider for job in jobs}

        # Forcing a scene forces each of its candidates.
        forced = [*self.options.force, *(r.scene.id for r in prepared.todo if r.scene.of in self.options.force)]

        def output(scene_id: str, record: Record) -> None:
            if scene_id in scenes:
                outputs.write_now(scenes[scene_id], record)

        async def main() -> dict[str, Outcome]:
            runtimes_of = open_runtimes(prepared.manifest, used, keys, self.options.jobs, self.environ, self.transport)
            async with runtimes_of as runtimes:
                executor = Executor(
                    cache=cache,
                    journal=journal,
                    providers=runtimes,
                    on_event=self.on_event,
                    force=forced,
                    on_record=output,
                    on_cached=(lambda rec: sharing.push([rec])) if sharing.pushes else None,
                )
                return await executor.run(jobs, known)

        return anyio.run(main)

    def _finish(
        self,
        prepared: _Prepared,
        outcomes: Mapping[str, Outcome],
        records: Mapping[str, Record],
        sharing: Sharing,
    ) -> BuildReport:
        """The report; after a clean build of every scene, the no-op memo for the next one."""
        outputs = Outputs(prepared.manifest, prepared.state.cache)
        scenes = []
        for item in prepared.plan.items:
            others = tuple(self._scene_report(prepared, o, outcomes, records, sharing, outputs) for o in item.others)
            scenes.append(self._scene_report(prepared, item, outcomes, records, sharing, outputs, others))
        warnings = (*(str(w) for w in prepared.manifest.warnings), *sharing.unsaid())
        report = BuildReport(prepared.manifest.path, tuple(scenes), tuple(prepared.state.cache.problems), warnings)
        if prepared.in_shard is None and all(s.status in ("rendered", "cached") for s in report.renders):
            self._remember(prepared.manifest, outputs, report)
        return report

    def _scene_report(
        self,
        prepared: _Prepared,
        item: PlanItem,
        outcomes: Mapping[str, Outcome],
        records: Mapping[str, Record],
        sharing: Sharing,
        outputs: Outputs,
        others: tuple[SceneReport, ...] = (),
    ) -> SceneReport:
        """What became of one render: a scene's, or one of its other candidates (which has no output file)."""
        scene = item.scene
        outcome = outcomes.get(scene.id)
        record = records.get(scene.id)
        file = outputs.relative(scene) if scene.of is None else None
        take = scene.take
        if outcome is not None and (outcome.error is not None or outcome.record is None):
            return SceneReport(
                scene.id, item.key, "failed", outcome.error or "failed", outcome.task_id, take=take, others=others
            )
        if outcome is not None and record is not None:
            shared = outcome.shared_with
            reason = f"same request as {shared}" if shared else item.reason
            if not outcome.paid and not shared:
                reason = f"resumed task {record.task_id or outcome.task_id}, paid for before"
            if record.delivered:
                reason += f"; delivered {record.delivered['size']}, {record.delivered['seconds']}s (kept)"
            # Spent means creates the provider accepted in this build; a resumed task was paid for before.
            cost = item.cost_usd if outcome.paid else 0.0
            return SceneReport(
                scene.id,
                item.key,
                "rendered",
                reason,
                record.task_id,
                file,
                record.sha256,
                record.bytes,
                cost,
                take,
                others,
            )
        if record is not None:
            reason = sharing.origin(scene.id, item.key) or "cached"
            return SceneReport(
                scene.id,
                item.key,
                "cached",
                reason,
                record.task_id,
                file,
                record.sha256,
                record.bytes,
                0.0,
                take,
                others,
            )
        outside = prepared.in_shard is not None and scene.id not in prepared.in_shard
        frozen_out = self.options.frozen and scene.of is not None
        why = "not in this shard" if outside else "not restored by --frozen" if frozen_out else item.reason
        return SceneReport(scene.id, item.key, item.status, why, cost_usd=item.cost_usd, take=take, others=others)

    def _remember(self, manifest: Manifest, outputs: Outputs, report: BuildReport) -> None:
        """Record the no-op memo: the next build with nothing changed can answer from stats alone."""
        from renderkit import __version__
        from renderkit.store import memo

        lock_file = lock_path(manifest.path)
        images = [s.request.image for s in manifest.scenes]
        watched = [str(lock_file), *(outputs.location(s) for s in manifest.scenes)]
        watched += [str(image.path) for image in images if image is not None and image.path is not None]
        cached = BuildReport(report.manifest, tuple(s.cached() for s in report.scenes))
        doc = {"doc": cached.to_json(), "warnings": [str(w) for w in manifest.warnings], "lock": str(lock_file)}
        memo.record(manifest.path, __version__, self.environ, watched, doc)
