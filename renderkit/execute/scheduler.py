"""Run planned renders as one anyio task group: dependencies first, each request once, within provider limits.

Upstream scenes finish before their dependents start: a remix or an extension then sends the upstream's task id,
and a continuation starts from the last frame of the upstream's video (from this build or the cache). Scenes or
shots with the same render key share one render. A scene's provider slot (``--jobs`` and the provider's
``max_in_flight``) is held from create until the provider reports the task finished; downloads run under their
own limiter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio

from renderkit.execute import compose
from renderkit.execute.events import Event, Outcome, ProviderUnusable, SceneFailed, StorageFailed
from renderkit.execute.fetch import download
from renderkit.execute.jobs import Context, Job, ProviderRuntime, ShotJob
from renderkit.execute.pacing import Backoff, Clock, backoff
from renderkit.execute.task import Tasks
from renderkit.providers.base import CreateRequest, ImageInput
from renderkit.store.cache import Cache, Record
from renderkit.store.journal import Journal

# Seconds the oldest finished render may wait for a download before the backlog holds back new creates.
BACKLOG_GRACE = 1.0

__all__ = ["Event", "Executor", "Job", "Outcome", "ProviderRuntime", "ShotJob"]


@dataclass
class _Claim:
    """The one render of a key in this build; scenes with the same key wait on it instead of paying again."""

    scene_id: str
    done: anyio.Event = field(default_factory=anyio.Event)
    record: Record | None = None


class Executor:
    """Runs jobs against their providers, journaling every paid step."""

    def __init__(
        self,
        *,
        cache: Cache,
        journal: Journal,
        providers: Mapping[str, ProviderRuntime],
        on_event: Callable[[Event], None],
        force: Sequence[str] = (),
        downloads: int = 4,
        on_record: Callable[[str, Record], None] | None = None,
        on_cached: Callable[[Record], None] | None = None,
        clock: Clock | None = None,
        pause: Backoff = backoff,
    ) -> None:
        self.ctx = Context(cache, journal, on_event, clock or Clock(), pause)
        self.providers = providers
        self.tasks = Tasks(self.ctx, set(force))
        self.on_record = on_record  # called off the event loop with each scene's record as soon as it is cached
        self.on_cached = on_cached  # called off the event loop with every record this build adds to the cache
        self._downloads = anyio.CapacityLimiter(downloads)
        # Finished renders waiting for a download slot: while there are this many and the oldest has waited
        # BACKLOG_GRACE, no new create starts, so downloads keep ahead of creates and no paid result expires in a
        # queue (result URLs live about an hour). A wave of renders that finish together drains within the grace
        # and does not hold back the next wave's creates.
        self.max_backlog = 2 * downloads
        self.peak_backlog = 0
        self._waiting: dict[str, float] = {}  # job key -> when its render finished, oldest first
        self._drained = anyio.Condition()
        self._done: dict[str, anyio.Event] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._claims: dict[str, _Claim] = {}
        self._known: dict[str, str] = {}

    async def run(self, jobs: Sequence[Job], known_tasks: Mapping[str, str]) -> dict[str, Outcome]:
        """Run every job; ``known_tasks`` maps cached upstream scene ids to their task ids."""
        self._known = dict(known_tasks)
        for job in jobs:
            self._done[job.scene_id] = anyio.Event()
        try:
            async with anyio.create_task_group() as tg:
                for job in jobs:
                    tg.start_soon(self._run_one, job)
        except* (ProviderUnusable, StorageFailed) as group:
            # The first of these stops every scene (tasks already created stay journaled for the rerun).
            raise group.exceptions[0] from None
        return self._outcomes

    async def _run_one(self, job: Job) -> None:
        outcome = Outcome(job.scene_id, job.key)
        events = self.ctx.on_event
        try:
            await self._wait_for_upstream(job)
            outcome.record = await self._once(job, outcome, self._storyboard if job.shots else self._render)
            if self.on_record is not None:
                await anyio.to_thread.run_sync(self.on_record, job.scene_id, outcome.record)
            events(Event(job.scene_id, "rendered", outcome.record.task_id or "stitched"))
        except SceneFailed as exc:
            outcome.error = str(exc)
            events(Event(job.scene_id, "failed", str(exc)))
        except OSError as exc:
            raise StorageFailed(exc) from None
        finally:
            self._outcomes[job.scene_id] = outcome
            self._done[job.scene_id].set()

    async def _wait_for_upstream(self, job: Job) -> None:
        pending = [dep for dep in job.depends_on if dep in self._done and not self._done[dep].is_set()]
        if pending:
            self.ctx.on_event(Event(job.scene_id, "waiting", f"for {', '.join(pending)}"))
        for dep in job.depends_on:
            if dep in self._done:
                await self._done[dep].wait()
                done = self._outcomes.get(dep)
                if done is None or done.record is None:
                    raise SceneFailed(f"upstream scene {dep!r} failed, so this scene was not rendered")

    async def _once(self, job: Job, outcome: Outcome, work: Callable[[Job, Outcome], Awaitable[Record]]) -> Record:
        """Do ``work`` once per key in a build: another scene or shot with the same request reuses the result."""
        claim = self._claims.get(job.key)
        if claim is not None:
            self.ctx.on_event(Event(job.scene_id, "waiting", f"for {claim.scene_id} (the same request)"))
            await claim.done.wait()
            if claim.record is None:
                raise SceneFailed(f"it is the same request as {claim.scene_id}, which failed")
            outcome.shared_with = claim.scene_id
            return claim.record
        claim = self._claims[job.key] = _Claim(job.scene_id)
        try:
            claim.record = await work(job, outcome)
        finally:
            claim.done.set()
        if self.on_cached is not None:
            await anyio.to_thread.run_sync(self.on_cached, claim.record)
        return claim.record

    async def _storyboard(self, job: Job, outcome: Outcome) -> Record:
        """Render every shot that is not cached (concurrently), then stitch them into the scene's video."""
        cache = self.ctx.cache
        records: dict[int, Record] = {}
        errors: list[str] = []

        async def one(index: int, shot: ShotJob) -> None:
            cached = await anyio.to_thread.run_sync(cache.usable, shot.key)
            if cached is not None:
                records[index] = cached
                return
            label = f"{job.scene_id}#{index + 1}"
            sub = Job(label, shot.key, shot.request, job.provider, upstream=job.upstream if index == 0 else None)
            shot_outcome = Outcome(label, shot.key)
            try:
                records[index] = await self._once(sub, shot_outcome, self._render)
                outcome.paid = outcome.paid or shot_outcome.paid
                self.ctx.on_event(Event(label, "rendered", records[index].task_id))
            except SceneFailed as exc:
                errors.append(f"shot {index + 1}: {exc}")

        async with anyio.create_task_group() as tg:
            for index, shot in enumerate(job.shots):
                tg.start_soon(one, index, shot)
        if errors:
            raise SceneFailed("; ".join(sorted(errors)) + " (finished shots are cached and will not be paid again)")
        ordered = [records[i] for i in range(len(job.shots))]
        return await anyio.to_thread.run_sync(compose.stitch_shots, cache, job, ordered)

    async def _render(self, job: Job, outcome: Outcome) -> Record:
        rt = self.providers[job.provider]
        async with rt.slots:
            # Checked with the slot held, just before the create: checked before queueing for a slot, every job of
            # a big build would pass at the start (the backlog is empty then) and the gate would never close.
            async with self._drained:
                while self._downloads_behind():
                    await self._drained.wait()
            with anyio.move_on_after(rt.deadline) as scope:
                state = await self.tasks.obtain(job, rt, lambda: self._prepare(job))
                outcome.task_id = state.task_id
                outcome.paid = job.key in self.tasks.created
                state = await self.tasks.poll(job, rt, state)
            entry = self.ctx.journal.entries.get(job.key)
            if scope.cancelled_caught and outcome.task_id is None and entry is not None and entry.state == "intent":
                raise SceneFailed(
                    f"timed out after {rt.deadline:.0f}s (the provider's timeout) while a create was unanswered; it "
                    "may have reached the provider and been paid for, so it is journaled and a rerun never sends it "
                    f"again blindly (it looks for the task, or asks for --force {job.scene_id})"
                )
            if scope.cancelled_caught and outcome.task_id is None:
                raise SceneFailed(
                    f"timed out after {rt.deadline:.0f}s (the provider's timeout) before any task was created, so "
                    "nothing was paid; rerun the build"
                )
            if scope.cancelled_caught:
                raise SceneFailed(
                    f"timed out after {rt.deadline:.0f}s (the provider's timeout) waiting for task {outcome.task_id}; "
                    "its task id is journaled, so rerunning the build resumes polling without paying again"
                )
        journal = self.ctx.journal
        if state.status == "failed":
            reason = state.error or "the provider reported the task as failed"
            code = f" [{state.error_code}]" if state.error_code else ""
            await self.ctx.record(journal.failed, job.key, f"{reason}{code}")
            raise SceneFailed(f"provider failed task {state.task_id}: {reason}{code}")
        await self.ctx.record(journal.completed, job.key)
        self._waiting[job.key] = self.ctx.clock.now()
        self.peak_backlog = max(self.peak_backlog, self.backlog)
        waiting = True
        try:
            async with self._downloads:
                waiting = False
                await self._left_backlog(job.key)
                return await download(self.ctx, job, rt, state)
        finally:
            if waiting:  # cancelled before its turn
                await self._left_backlog(job.key)

    @property
    def backlog(self) -> int:
        """Finished renders waiting for a download slot."""
        return len(self._waiting)

    def _downloads_behind(self) -> bool:
        """Whether creates must wait: many finished renders wait for a download slot, the oldest for too long."""
        if self.backlog < self.max_backlog:
            return False
        return self.ctx.clock.now() - next(iter(self._waiting.values())) >= BACKLOG_GRACE

    async def _left_backlog(self, key: str) -> None:
        """A finished render stopped waiting for a download slot: a create held at the gate may go."""
        del self._waiting[key]
        async with self._drained:
            self._drained.notify_all()

    async def _prepare(self, job: Job) -> CreateRequest:
        """The create to send: the request, its reference image ready to upload, and the task it is made from."""
        request = job.request
        image: ImageInput | None = None
        source: str | None = None
        if request.link == "continue_from":
            done = self._outcomes.get(job.upstream or "")
            record = done.record if done else None
            image = await anyio.to_thread.run_sync(compose.continued_frame, self.ctx.cache, job, record)
        elif request.image is not None:
            try:
                image = await anyio.to_thread.run_sync(compose.reference_image, request.image, request.size)
            except (OSError, ValueError) as exc:
                raise SceneFailed(f"cannot read the reference image ({exc}); fix or replace the file") from None
        if request.link in ("remix_of", "extend_of") and not request.shot:
            source = self._source_task(job.upstream or "", "remix" if request.link == "remix_of" else "extension")
        return CreateRequest(request, image=image, source_task=source)

    def _source_task(self, scene_id: str, what: str) -> str:
        """The task id of the scene a remix or an extension is made from."""
        done = self._outcomes.get(scene_id)
        source = (done.record.task_id if done and done.record else None) or self._known.get(scene_id)
        if not source:
            raise SceneFailed(f"{what} source {scene_id!r} has no task id; build it first")
        return source
