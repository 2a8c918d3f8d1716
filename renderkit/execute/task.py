"""A render's task at the provider: find it in the journal, recover it, or create it (paid, once); then poll it.

The journal gets the intent before each create and the task id the moment it returns, so a killed build resumes
polling instead of paying again; a create whose answer was lost is looked for through the list route, never
silently sent again.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable

import anyio

from renderkit.catalog.kinds import KINDS
from renderkit.errors import ProviderError
from renderkit.execute.eta import MARGIN, Bracket, Finishes
from renderkit.execute.events import Event, ProviderUnusable, SceneFailed, StorageFailed
from renderkit.execute.jobs import Context, Job, ProviderRuntime
from renderkit.execute.video import prepare_decoder
from renderkit.providers.base import CreateRequest, TaskState

DEFAULT_POLL = 2.0
DEFAULT_REFRESH = 15.0
# Every retry is bounded, by cause, and the bound is named when it is hit.
CREATE_RETRIES = 20  # refused creates (429, 408, 409): not charged, but a provider that never says yes is down
CREATE_RETRY_SECONDS = 900.0
CONNECT_RETRIES = 3  # connection refused, DNS: nothing was sent; the base_url or the network is wrong
POLL_RETRIES = 20  # consecutive failed polls of one task
MAX_PROGRESS_WAIT = 60.0  # seconds: the longest wait a progress estimate may ask for between two polls

RenderKind = tuple[str, str, str, int, bool]  # provider, model, size, seconds, made from another task

Prepare = Callable[[], Awaitable[CreateRequest]]


class Tasks:
    """Obtains and polls tasks for one build; remembers how fast each kind of render finished."""

    def __init__(self, ctx: Context, force: set[str]) -> None:
        self.ctx = ctx
        self.force = force
        self._created_at: dict[str, tuple[float, float]] = {}  # job key -> when this build's create went, answered
        self._finishes: dict[RenderKind, Finishes] = {}  # when renders of each kind finished in this build
        self.created: set[str] = set()  # keys whose create this build sent and the provider accepted

    async def obtain(self, job: Job, rt: ProviderRuntime, prepare: Prepare) -> TaskState:
        """The job's task: journaled (resumed), recovered after a lost answer, or created now."""
        entry = self.ctx.journal.entries.get(job.key)
        forced = job.scene_id in self.force
        if entry is not None and entry.task_id and entry.state in ("task", "completed") and not forced:
            self.ctx.on_event(Event(job.scene_id, "created", f"resuming task {entry.task_id}"))
            return TaskState(task_id=entry.task_id, status="queued")
        if entry is not None and entry.state == "intent" and not forced:
            found = await self._reconcile(job, rt, entry.intent_at, prepare)
            if found is not None:
                return found
        return await self._create(job, rt, prepare)

    async def _reconcile(self, job: Job, rt: ProviderRuntime, since: float, prepare: Prepare) -> TaskState | None:
        """Find a create whose answer was lost, or stop the scene: never re-create silently.

        A task is ours only if nothing else can own it: it matches everything the list shows of the request (and
        a remix or an extension its source task), no other render holds it (the journal and every cached render
        count, not only this build's), no other lost create shows the same, and no other task fits as well.
        """
        if not KINDS[rt.kind].list:
            raise SceneFailed(
                f"a create for this scene was sent at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(since))} "
                f"UTC but its answer was lost, and provider kind {rt.kind!r} cannot list tasks to find it; "
                f"check the provider's dashboard, then rerun with --force {job.scene_id} to pay for a new render"
            )
        journal = self.ctx.journal
        claimed = {e.task_id for e in journal.entries.values() if e.task_id}
        claimed |= await anyio.to_thread.run_sync(self.ctx.cache.task_ids)
        source = (await prepare()).source_task if job.request.link in ("remix_of", "extend_of") else None
        try:
            tasks = await rt.provider.list_tasks(int(since) - 5)
        except ProviderError as exc:
            raise SceneFailed(
                f"a create's answer was lost and listing tasks to find it failed ({exc}); "
                f"rerun later, or rerun with --force {job.scene_id} to pay for a new render"
            ) from None
        req = job.request
        matches = [
            t
            for t in tasks
            if t.task_id not in claimed
            and t.extra.get("prompt") in (None, req.prompt)
            and t.extra.get("model") in (None, req.model)
            and t.extra.get("size") in (None, req.size)
            and str(t.extra.get("seconds", job.length)) == str(job.length)
            and (source is None or t.extra.get("remixed_from_video_id") in (None, source))
        ]
        rivals = sorted(
            e.scene
            for e in journal.entries.values()
            if e.key != job.key and e.state == "intent" and e.echo == echo(job)
        )
        if matches and rivals:
            raise SceneFailed(
                f"a create's answer was lost, and so was one for {', '.join(rivals)} with the same prompt, model, "
                f"size and length: the provider's list cannot tell which task is whose, so renderkit will not guess. "
                f"Check the provider's dashboard, then rerun with --force {job.scene_id}"
            )
        if len(matches) > 1:
            ids = ", ".join(sorted(t.task_id for t in matches))
            raise SceneFailed(
                f"a create's answer was lost and several tasks match it ({ids}); "
                f"rerun with --force {job.scene_id} to pay for a new render"
            )
        if matches:
            await self.ctx.record(journal.task, job.key, matches[0].task_id)
            self.ctx.on_event(Event(job.scene_id, "created", f"recovered task {matches[0].task_id}"))
            return matches[0]
        return None

    async def _create(self, job: Job, rt: ProviderRuntime, prepare: Prepare) -> TaskState:
        ctx, journal = self.ctx, self.ctx.journal
        create = await prepare()
        attempt = 0
        waited = 0.0
        while True:
            if not rt.answered.is_set():
                if rt.probe not in (None, job.key):
                    await rt.answered.wait()
                rt.probe = job.key
            await rt.creates.acquire()
            ctx.on_event(Event(job.scene_id, "creating"))
            await ctx.record(journal.intent, job.key, job.scene_id, job.provider, echo(job))
            unanswered = False  # only an answer that accepted the key lets the creates waiting behind this one go
            asked = ctx.clock.now()
            try:
                state = await rt.provider.create(create)
            except ProviderError as exc:
                unanswered = exc.status in (401, 403) or exc.code == "connect_failed"
                if exc.status in (401, 403):
                    await ctx.record(journal.failed, job.key, f"refused: {exc}")
                    raise ProviderUnusable(str(exc)) from None
                if exc.maybe_sent:
                    found = await self._reconcile_after_loss(job, rt, prepare)
                    if found is not None:
                        self.created.add(job.key)
                        return found
                    raise SceneFailed(_lost_message(job.scene_id, exc)) from None
                await ctx.record(journal.failed, job.key, f"refused: {exc}")
                if not exc.retryable:
                    raise SceneFailed(f"the provider refused the create: {exc}") from None
                if exc.code == "connect_failed" and attempt + 1 >= CONNECT_RETRIES:
                    message = f"{exc} ({CONNECT_RETRIES} attempts); nothing was sent, so nothing was paid"
                    raise ProviderUnusable(message) from None
                if attempt + 1 >= CREATE_RETRIES or waited >= CREATE_RETRY_SECONDS:
                    raise SceneFailed(
                        f"the provider refused {attempt + 1} creates in {waited:.0f}s (the limit is {CREATE_RETRIES} "
                        f"attempts or {CREATE_RETRY_SECONDS:.0f}s); last: {exc}. Nothing was paid; rerun later or "
                        "lower this provider's rpm"
                    ) from None
                throttled = exc.status == 429
                pause = rt.creates.throttled(exc.retry_after, attempt) if throttled else ctx.backoff(attempt)
                waited += pause
                ctx.on_event(Event(job.scene_id, "retry", f"create refused ({exc}); retrying in {pause:.1f}s"))
                if not throttled:  # a 429 pauses the bucket, which the next acquire waits out
                    await ctx.clock.sleep(pause)
                attempt += 1
                continue
            finally:
                if not unanswered:
                    rt.answered.set()
            rt.creates.succeeded()
            self.created.add(job.key)
            self._created_at[job.key] = (asked, ctx.clock.now())
            try:
                await ctx.record(journal.task, job.key, state.task_id)
            except OSError as exc:
                raise StorageFailed(exc, unjournaled=state.task_id) from None
            ctx.on_event(Event(job.scene_id, "created", state.task_id))
            return state

    async def _reconcile_after_loss(self, job: Job, rt: ProviderRuntime, prepare: Prepare) -> TaskState | None:
        if not KINDS[rt.kind].list:
            return None
        # ``_create`` journals the intent before it sends: the list reaches back to then.
        return await self._reconcile(job, rt, self.ctx.journal.entries[job.key].intent_at, prepare)

    async def poll(self, job: Job, rt: ProviderRuntime, state: TaskState) -> TaskState:
        """Poll until the task is completed or failed, honouring the provider's poll hint and refresh rate."""
        ctx = self.ctx
        interval = rt.poll_interval or DEFAULT_POLL
        attempt = 0
        created = self._created_at.get(job.key)
        born = created[1] if created else None
        req = job.request
        finishes = self._finishes.setdefault(
            (job.provider, req.model, req.size, req.seconds, req.link in ("remix_of", "extend_of")), Finishes()
        )
        bracket = Bracket(created[1] - created[0] if created else 0.0)
        started = sent = ctx.clock.now()
        while state.status in ("queued", "running"):
            wait = state.poll_after if state.poll_after is not None else interval
            # Space polls from when the last one was sent, so round trips do not stretch every wait.
            due = sent + wait
            if born is not None:
                due = max(due, born + self._aim(finishes, bracket, sent - born, wait))
            prepare_decoder()  # the wait for a render is idle time: the download's check needs PyAV after it
            await ctx.clock.sleep(due - ctx.clock.now())
            if state.poll_after is None:
                interval = min(max(interval * 1.5, interval), max(DEFAULT_REFRESH, rt.poll_interval or 0.0))
            await rt.polls.acquire()
            sent = ctx.clock.now()
            try:
                state = await rt.provider.poll(state.task_id)
                attempt = 0
            except ProviderError as exc:
                fresh = ctx.clock.now() - started < 30
                if not (exc.retryable or (exc.code == "task_not_exist" and fresh)):
                    raise SceneFailed(f"polling task {state.task_id} failed: {exc}") from None
                if attempt + 1 >= POLL_RETRIES:
                    raise SceneFailed(
                        f"polling task {state.task_id} failed {POLL_RETRIES} times in a row (last: {exc}); its task "
                        "id is journaled, so rerunning the build resumes polling without paying again"
                    ) from None
                pause = rt.polls.throttled(exc.retry_after, attempt) if exc.status == 429 else ctx.backoff(attempt)
                ctx.on_event(Event(job.scene_id, "retry", f"poll failed ({exc}); retrying in {pause:.1f}s"))
                attempt += 1
                await ctx.clock.sleep(pause)
                continue
            if born is not None:
                bracket.saw(sent - born, ctx.clock.now() - born, state)
            ctx.on_event(Event(job.scene_id, "rendering", state.raw_status, state.progress))
        if born is not None and state.status == "completed":
            finishes.seen.append(bracket)
        return state

    @staticmethod
    def _aim(finishes: Finishes, bracket: Bracket, polled: float, hint: float) -> float:
        """When the next poll goes, counted from the create's answer: just past the finish the task's progress shows
        (or, if that is still loose, where a new reading will be precise), else where renders of its kind finished;
        ``polled`` when nothing is known, so the hint alone spaces the polls."""
        if bracket.done_by < math.inf:
            # Progress read early brackets the finish loosely: read it again a hint before the earliest finish (a
            # reading near the end is precise), which still leaves a hint's room before the aimed poll.
            loose = bracket.done_by - bracket.lo > hint / 2
            aim = bracket.lo - hint if loose else bracket.done_by + hint * MARGIN
            return min(aim, polled + MAX_PROGRESS_WAIT)
        if bracket.lo == 0:
            first = finishes.first(hint)
            if first is not None:
                return first
        return polled


def echo(job: Job) -> str:
    """What a provider's list of tasks shows of a job's request: two lost creates alike in this are indistinct."""
    req = job.request
    return json.dumps([req.prompt, req.model, req.size, job.length], ensure_ascii=False)


def _lost_message(scene_id: str, exc: ProviderError) -> str:
    return (
        f"the create may have reached the provider but its answer was lost ({exc}); renderkit will not "
        f"send it again blindly. Check the provider's dashboard, then rerun with --force {scene_id} "
        "to pay for a new render"
    )
