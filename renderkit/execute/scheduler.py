"""Turn planned renders into cached blobs: create → poll → download, each paid create at most once.

Every scene runs as one task in an anyio task group. Upstream scenes finish before their dependents
start: a remix or an extension then sends the upstream's task id, and a continuation starts from the last
frame of the upstream's video (from this build or the cache). A scene's provider slot (``--jobs`` and the
provider's ``max_in_flight``) is held from create until the provider reports the task finished; downloads
run under their own limiter. The journal gets the intent before each create and the task id the moment it
returns, so a killed build resumes by polling instead of paying again.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import anyio

from renderkit.catalog.kinds import KINDS
from renderkit.errors import ProviderError
from renderkit.execute.mp4check import Mp4Problem, check_mp4
from renderkit.execute.pacing import TokenBucket, backoff
from renderkit.providers.base import CreateRequest, ImageInput, Provider, Shot, TaskState
from renderkit.store.cache import Cache, Record
from renderkit.store.journal import Journal

Phase = Literal["waiting", "creating", "created", "rendering", "downloading", "rendered", "failed", "retry"]

DOWNLOAD_ATTEMPTS = 5
DEFAULT_POLL = 2.0
DEFAULT_REFRESH = 15.0
DEFAULT_DEADLINE = 3600.0


@dataclass(frozen=True)
class Event:
    """Something happened to one scene; the CLI turns these into progress."""

    scene: str
    phase: Phase
    detail: str = ""
    progress: int | None = None


@dataclass
class ProviderRuntime:
    """One provider and its pacing, shared by every scene that uses it."""

    provider: Provider
    kind: str
    slots: anyio.CapacityLimiter
    creates: TokenBucket
    polls: TokenBucket
    poll_interval: float | None = None
    deadline: float = DEFAULT_DEADLINE
    refused: str | None = None  # set on a 401/403: every later create would be refused the same way


@dataclass(frozen=True)
class ShotJob:
    """One storyboard shot rendered as its own task (families without a native storyboard)."""

    key: str
    request: Mapping[str, Any]
    create: CreateRequest


@dataclass(frozen=True)
class Job:
    """One scene to render."""

    scene_id: str
    key: str
    request: Mapping[str, Any]
    provider: str
    create: CreateRequest
    remix_of: str | None = None
    depends_on: tuple[str, ...] = ()
    shots: tuple[ShotJob, ...] = ()
    continue_from: str | None = None
    extend_of: str | None = None
    upstream_key: str | None = None  # the render key of the scene named by remix_of, continue_from or extend_of
    duration: int | None = None  # the video's length when it is not create.seconds (an extension's total)

    @property
    def length(self) -> int:
        """How long the finished video is, in seconds."""
        return self.create.seconds if self.duration is None else self.duration


@dataclass
class Outcome:
    """How one scene ended."""

    scene_id: str
    key: str
    record: Record | None = None
    error: str | None = None
    task_id: str | None = None
    shared_with: str | None = None  # the scene whose identical render this one reused (paid once)


@dataclass
class _Claim:
    """The one render of a key in this build; scenes with the same key wait on it instead of paying again."""

    scene_id: str
    done: anyio.Event = field(default_factory=anyio.Event)
    record: Record | None = None


class SceneFailed(Exception):
    """One scene cannot finish in this build; the message says what to do."""


class _Sink:
    """A temp file that hashes what it holds and supports resume and restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = path.open("ab")
        self._digest = hashlib.sha256()
        if self._fh.tell():
            with path.open("rb") as fin:
                while chunk := fin.read(1 << 20):
                    self._digest.update(chunk)

    @property
    def offset(self) -> int:
        return self._fh.tell()

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        self._digest.update(chunk)

    def reset(self) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._digest = hashlib.sha256()

    def finish(self) -> tuple[str, int]:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        size = self._fh.tell()
        self._fh.close()
        return self._digest.hexdigest(), size

    def close(self) -> None:
        self._fh.close()


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
    ) -> None:
        self.cache = cache
        self.journal = journal
        self.providers = providers
        self.on_event = on_event
        self.force = set(force)
        self.on_record = on_record  # called off the event loop with each scene's record as soon as it is cached
        self._downloads = anyio.CapacityLimiter(downloads)
        self._done: dict[str, anyio.Event] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._claims: dict[str, _Claim] = {}
        self._created_at: dict[str, float] = {}  # job key -> when this build's create for it was answered
        self._fastest: dict[tuple[str, str, str, int, bool], float] = {}  # kind of render -> shortest create-to-done

    def upstream_task(self, scene_id: str) -> str | None:
        """The task id of a scene finished earlier in this build (for remix and extend)."""
        outcome = self._outcomes.get(scene_id)
        return outcome.record.task_id if outcome and outcome.record else None

    async def run(self, jobs: Sequence[Job], known_tasks: Mapping[str, str]) -> dict[str, Outcome]:
        """Run every job; ``known_tasks`` maps cached upstream scene ids to their task ids."""
        self._known = dict(known_tasks)
        for job in jobs:
            self._done[job.scene_id] = anyio.Event()
        async with anyio.create_task_group() as tg:
            for job in jobs:
                tg.start_soon(self._run_one, job)
        return self._outcomes

    async def _run_one(self, job: Job) -> None:
        outcome = Outcome(job.scene_id, job.key)
        try:
            pending = [dep for dep in job.depends_on if dep in self._done and not self._done[dep].is_set()]
            if pending:
                self.on_event(Event(job.scene_id, "waiting", f"for {', '.join(pending)}"))
            for dep in job.depends_on:
                if dep in self._done:
                    await self._done[dep].wait()
                    dep_outcome = self._outcomes.get(dep)
                    if dep_outcome is None or dep_outcome.record is None:
                        raise SceneFailed(f"upstream scene {dep!r} failed, so this scene was not rendered")
            if job.continue_from is not None:
                job = await self._continued(job, job.continue_from)
            outcome.record = await self._once(job, outcome, self._storyboard if job.shots else self._render)
            if self.on_record is not None:
                await anyio.to_thread.run_sync(self.on_record, job.scene_id, outcome.record)
            self.on_event(Event(job.scene_id, "rendered", outcome.record.task_id or "stitched"))
        except SceneFailed as exc:
            outcome.error = str(exc)
            self.on_event(Event(job.scene_id, "failed", str(exc)))
        finally:
            self._outcomes[job.scene_id] = outcome
            self._done[job.scene_id].set()

    async def _continued(self, job: Job, upstream: str) -> Job:
        """The job with its first render starting from the last frame of ``upstream``'s video."""
        done = self._outcomes.get(upstream)
        frame = await anyio.to_thread.run_sync(self._last_frame, job, upstream, done.record if done else None)
        image = ImageInput(data=frame, mime="image/png", filename=f"{upstream}-last-frame.png")
        if job.shots:
            first = job.shots[0]
            shots = (replace(first, create=replace(first.create, image=image)), *job.shots[1:])
            return replace(job, create=replace(job.create, image=image), shots=shots)
        return replace(job, create=replace(job.create, image=image))

    def _last_frame(self, job: Job, upstream: str, record: Record | None) -> bytes:
        """PNG of the last frame of ``upstream``'s render (this build's, else the cache's), fitted to the job's size."""
        import av

        from renderkit.execute.video import last_frame

        if record is None and job.upstream_key is not None:
            record = self.cache.get(job.upstream_key)
        if record is None or not self.cache.has_blob(record.sha256, record.bytes):
            raise SceneFailed(
                f"the render of {upstream!r} is not in the cache, so its last frame cannot be taken; "
                f"run `renderkit plan` to see why, then build {upstream!r} first"
            )
        try:
            return last_frame(self.cache.blob_path(record.sha256), job.create.size)
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise SceneFailed(
                f"cannot read the last frame of {upstream!r} ({exc}); run `renderkit verify`, "
                f"then rerun with --force {upstream} if its render is damaged"
            ) from None

    async def _storyboard(self, job: Job, outcome: Outcome) -> Record:
        """Render every shot that is not cached (concurrently), then stitch them into the scene's video."""
        records: dict[int, Record] = {}
        errors: list[str] = []

        async def one(index: int, shot: ShotJob) -> None:
            cached = self.cache.get(shot.key)
            if cached is not None and self.cache.has_blob(cached.sha256, cached.bytes):
                records[index] = cached
                return
            label = f"{job.scene_id}#{index + 1}"
            sub = Job(scene_id=label, key=shot.key, request=shot.request, provider=job.provider, create=shot.create)
            try:
                records[index] = await self._once(sub, Outcome(label, shot.key), self._render)
                self.on_event(Event(label, "rendered", records[index].task_id))
            except SceneFailed as exc:
                errors.append(f"shot {index + 1}: {exc}")

        async with anyio.create_task_group() as tg:
            for index, shot in enumerate(job.shots):
                tg.start_soon(one, index, shot)
        if errors:
            raise SceneFailed("; ".join(sorted(errors)) + " (finished shots are cached and will not be paid again)")
        ordered = [records[i] for i in range(len(job.shots))]
        return await anyio.to_thread.run_sync(self._stitch, job, ordered)

    def _stitch(self, job: Job, shots: Sequence[Record]) -> Record:
        from renderkit.execute.video import stitch
        from renderkit.store.cache import sha256_file

        part = self.cache.temp_path(f"{job.key}.stitch.mp4")
        try:
            stitch([self.cache.blob_path(r.sha256) for r in shots], part)
            check_mp4(part, job.create.size, job.length)
        except (Mp4Problem, ValueError, OSError) as exc:
            part.unlink(missing_ok=True)
            raise SceneFailed(f"stitching the shots failed: {exc}") from None
        sha256 = sha256_file(part)
        size = part.stat().st_size
        self.cache.add_blob(part, sha256)
        record = Record(
            key=job.key,
            request=job.request,
            provider_kind=shots[0].provider_kind,
            task_id="",
            sha256=sha256,
            bytes=size,
            shots=tuple({"key": r.key, "task_id": r.task_id, "sha256": r.sha256} for r in shots),
        )
        self.cache.put(record)
        return record

    async def _once(self, job: Job, outcome: Outcome, work: Callable[[Job, Outcome], Awaitable[Record]]) -> Record:
        """Do ``work`` once per key in a build: another scene or shot with the same request reuses the result."""
        claim = self._claims.get(job.key)
        if claim is not None:
            self.on_event(Event(job.scene_id, "waiting", f"for {claim.scene_id} (the same request)"))
            await claim.done.wait()
            if claim.record is None:
                raise SceneFailed(f"it is the same request as {claim.scene_id}, which failed")
            outcome.shared_with = claim.scene_id
            return claim.record
        claim = self._claims[job.key] = _Claim(job.scene_id)
        try:
            claim.record = await work(job, outcome)
            return claim.record
        finally:
            claim.done.set()

    async def _render(self, job: Job, outcome: Outcome) -> Record:
        rt = self.providers[job.provider]
        async with rt.slots:
            with anyio.move_on_after(rt.deadline) as scope:
                state = await self._obtain_task(job, rt)
                outcome.task_id = state.task_id
                state = await self._poll(job, rt, state)
            if scope.cancelled_caught:
                raise SceneFailed(
                    f"timed out after {rt.deadline:.0f}s waiting for task {outcome.task_id or '(not created)'}; "
                    "its task id is journaled, so rerunning the build resumes polling without paying again"
                )
        if state.status == "failed":
            reason = state.error or "the provider reported the task as failed"
            code = f" [{state.error_code}]" if state.error_code else ""
            await self._journal(self.journal.failed, job.key, f"{reason}{code}")
            raise SceneFailed(f"provider failed task {state.task_id}: {reason}{code}")
        await self._journal(self.journal.completed, job.key)
        async with self._downloads:
            return await self._download(job, rt, state)

    async def _journal(self, fn: Callable[..., None], *args: str) -> None:
        await anyio.to_thread.run_sync(fn, *args)

    async def _obtain_task(self, job: Job, rt: ProviderRuntime) -> TaskState:
        entry = self.journal.entries.get(job.key)
        forced = job.scene_id in self.force
        if entry is not None and entry.task_id and entry.state in ("task", "completed") and not forced:
            self.on_event(Event(job.scene_id, "created", f"resuming task {entry.task_id}"))
            return TaskState(task_id=entry.task_id, status="queued", raw_status="journaled")
        if entry is not None and entry.state == "intent" and not forced:
            found = await self._reconcile(job, rt, entry.intent_at)
            if found is not None:
                return found
        return await self._create(job, rt)

    async def _reconcile(self, job: Job, rt: ProviderRuntime, since: float) -> TaskState | None:
        """Find a create whose answer was lost, or stop the scene: never re-create silently."""
        if not KINDS[rt.kind].list:
            raise SceneFailed(
                f"a create for this scene was sent at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(since))} "
                f"UTC but its answer was lost, and provider kind {rt.kind!r} cannot list tasks to find it; "
                f"check the provider's dashboard, then rerun with --force {job.scene_id} to pay for a new render"
            )
        claimed = {e.task_id for e in self.journal.entries.values() if e.task_id}
        try:
            tasks = await rt.provider.list_tasks(int(since) - 5)
        except ProviderError as exc:
            raise SceneFailed(
                f"a create's answer was lost and listing tasks to find it failed ({exc}); "
                f"rerun later, or rerun with --force {job.scene_id} to pay for a new render"
            ) from None
        req = job.create
        matches = [
            t
            for t in tasks
            if t.task_id not in claimed
            and t.extra.get("prompt") in (None, req.prompt)
            and t.extra.get("model") in (None, req.model)
            and t.extra.get("size") in (None, req.size)
            and str(t.extra.get("seconds", job.length)) == str(job.length)
        ]
        if len(matches) > 1:
            ids = ", ".join(sorted(t.task_id for t in matches))
            raise SceneFailed(
                f"a create's answer was lost and several tasks match it ({ids}); "
                f"rerun with --force {job.scene_id} to pay for a new render"
            )
        if matches:
            await self._journal(self.journal.task, job.key, matches[0].task_id)
            self.on_event(Event(job.scene_id, "created", f"recovered task {matches[0].task_id}"))
            return matches[0]
        return None

    def _source_task(self, scene_id: str, what: str) -> str:
        """The task id of the scene a remix or an extension is made from."""
        source = self.upstream_task(scene_id) or self._known.get(scene_id)
        if not source:
            raise SceneFailed(f"{what} source {scene_id!r} has no task id; build it first")
        return source

    async def _create(self, job: Job, rt: ProviderRuntime) -> TaskState:
        create = job.create
        if job.remix_of is not None:
            create = CreateRequest(
                model=create.model,
                prompt=create.prompt,
                size=create.size,
                seconds=create.seconds,
                remix_of=self._source_task(job.remix_of, "remix"),
            )
        elif job.extend_of is not None:
            create = replace(create, extend_of=self._source_task(job.extend_of, "extension"))
        attempt = 0
        while True:
            await rt.creates.acquire()
            if rt.refused is not None:
                raise SceneFailed(f"not sent, because the provider refused an earlier create: {rt.refused}")
            self.on_event(Event(job.scene_id, "creating"))
            await self._journal(self.journal.intent, job.key, job.scene_id, job.provider)
            try:
                state = await rt.provider.create(create)
            except ProviderError as exc:
                if exc.maybe_sent:
                    found = await self._reconcile_after_loss(job, rt, exc)
                    if found is not None:
                        return found
                    raise SceneFailed(_lost_message(job.scene_id, exc)) from None
                await self._journal(self.journal.failed, job.key, f"refused: {exc}")
                if exc.status in (401, 403):
                    rt.refused = str(exc)
                if not exc.retryable:
                    raise SceneFailed(f"the provider refused the create: {exc}") from None
                pause = rt.creates.throttled(exc.retry_after, attempt) if exc.status == 429 else backoff(attempt)
                self.on_event(Event(job.scene_id, "retry", f"create refused ({exc}); retrying in {pause:.1f}s"))
                if exc.status != 429:
                    await anyio.sleep(pause)
                attempt += 1
                continue
            rt.creates.succeeded()
            self._created_at[job.key] = anyio.current_time()
            await self._journal(self.journal.task, job.key, state.task_id)
            self.on_event(Event(job.scene_id, "created", state.task_id))
            return state

    async def _reconcile_after_loss(self, job: Job, rt: ProviderRuntime, exc: ProviderError) -> TaskState | None:
        if not KINDS[rt.kind].list:
            return None
        entry = self.journal.entries.get(job.key)
        since = entry.intent_at if entry else time.time() - 60
        return await self._reconcile(job, rt, since)

    async def _poll(self, job: Job, rt: ProviderRuntime, state: TaskState) -> TaskState:
        interval = rt.poll_interval or DEFAULT_POLL
        attempt = 0
        born = self._created_at.get(job.key)
        derived = job.remix_of is not None or job.extend_of is not None
        kind = (job.provider, job.create.model, job.create.size, job.create.seconds, derived)
        fastest = self._fastest.get(kind)
        started = sent = anyio.current_time()
        while state.status in ("queued", "running"):
            wait = state.poll_after if state.poll_after is not None else interval
            # Space polls from when the last one was sent, so round trips do not stretch every wait.
            due = sent + wait
            if born is not None and fastest is not None:
                # No render of this kind finished sooner in this build, so an earlier poll would be wasted.
                due, fastest = max(due, born + fastest), None
            await anyio.sleep(max(0.0, due - anyio.current_time()))
            if state.poll_after is None:
                interval = min(max(interval * 1.5, interval), max(DEFAULT_REFRESH, rt.poll_interval or 0.0))
            await rt.polls.acquire()
            sent = anyio.current_time()
            try:
                state = await rt.provider.poll(state.task_id)
                attempt = 0
            except ProviderError as exc:
                fresh = anyio.current_time() - started < 30
                if not (exc.retryable or (exc.code == "task_not_exist" and fresh)):
                    raise SceneFailed(f"polling task {state.task_id} failed: {exc}") from None
                pause = rt.polls.throttled(exc.retry_after, attempt) if exc.status == 429 else backoff(attempt)
                self.on_event(Event(job.scene_id, "retry", f"poll failed ({exc}); retrying in {pause:.1f}s"))
                attempt += 1
                await anyio.sleep(pause)
                continue
            self.on_event(Event(job.scene_id, "rendering", state.raw_status, state.progress))
        if born is not None and state.status == "completed":
            self._fastest[kind] = min(sent - born, self._fastest.get(kind, sent - born))
        return state

    async def _download(self, job: Job, rt: ProviderRuntime, state: TaskState) -> Record:
        part = self.cache.temp_path(f"{job.key}.part")
        for attempt in range(DOWNLOAD_ATTEMPTS):
            self.on_event(Event(job.scene_id, "downloading", state.task_id))
            sink = _Sink(part)
            try:
                await rt.provider.download(state, sink)
            except ProviderError as exc:
                sink.close()
                if exc.expired:
                    status = f"HTTP {exc.status}" if exc.status else "expired"
                    raise SceneFailed(
                        f"the provider no longer has the result of task {state.task_id} ({status}); "
                        f"rerun with --force {job.scene_id} to pay for a new render"
                    ) from None
                if not exc.retryable or attempt == DOWNLOAD_ATTEMPTS - 1:
                    raise SceneFailed(
                        f"downloading task {state.task_id} failed: {exc}; "
                        "rerun the build to resume the download (no new charge)"
                    ) from None
                self.on_event(Event(job.scene_id, "retry", f"download interrupted ({exc}); resuming"))
                await anyio.sleep(backoff(attempt))
                continue
            sha256, size = sink.finish()
            try:
                await anyio.to_thread.run_sync(check_mp4, part, job.create.size, job.length)
            except Mp4Problem as exc:
                part.unlink(missing_ok=True)
                if attempt == DOWNLOAD_ATTEMPTS - 1:
                    raise SceneFailed(
                        f"task {state.task_id} downloaded as an invalid video ({exc}); "
                        "rerun the build to download it again (no new charge)"
                    ) from None
                self.on_event(Event(job.scene_id, "retry", f"downloaded file is invalid ({exc}); fetching again"))
                continue
            await anyio.to_thread.run_sync(self.cache.add_blob, part, sha256)
            record = Record(
                key=job.key,
                request=job.request,
                provider_kind=rt.kind,
                task_id=state.task_id,
                sha256=sha256,
                bytes=size,
            )
            await anyio.to_thread.run_sync(self.cache.put, record)
            await self._journal(self.journal.done, job.key)
            return record
        raise AssertionError("unreachable: the loop returns or raises")


def _lost_message(scene_id: str, exc: ProviderError) -> str:
    return (
        f"the create may have reached the provider but its answer was lost ({exc}); renderkit will not "
        f"send it again blindly. Check the provider's dashboard, then rerun with --force {scene_id} "
        "to pay for a new render"
    )


def image_input(path: Path | None, url: str | None, size: str) -> ImageInput | None:
    """A provider image input: a local file letterboxed to exactly ``size`` (PNG), or a URL passed through."""
    if url is not None:
        return ImageInput(url=url)
    if path is None:
        return None
    from renderkit.execute.video import fit_image

    return ImageInput(data=fit_image(path.read_bytes(), size), mime="image/png", filename=f"{path.stem}.png")


def shots(pairs: Sequence[tuple[str, int]]) -> tuple[Shot, ...]:
    """Storyboard shots for a create request."""
    return tuple(Shot(prompt=p, seconds=s) for p, s in pairs)
