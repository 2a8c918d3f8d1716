"""Download a finished task into the blob store: streamed, hashed, resumed, decoded, and only then kept."""

from __future__ import annotations

from pathlib import Path

import anyio

from renderkit.errors import ProviderError
from renderkit.execute.events import Event, SceneFailed
from renderkit.execute.jobs import Context, Job, ProviderRuntime
from renderkit.execute.sink import Sink
from renderkit.execute.video import Delivered, Mp4Problem, probe_mp4
from renderkit.providers.base import TaskState
from renderkit.store.cache import Record

DOWNLOAD_ATTEMPTS = 5


async def download(ctx: Context, job: Job, rt: ProviderRuntime, state: TaskState) -> Record:
    """Fetch ``state``'s video, prove it decodes as the video asked for, store the blob and its index record.

    With ``job.copy_to``, the download also writes the video there as it comes; that file is left only beside a
    record whose blob holds the same bytes, and is deleted whenever the download does not end in one.
    """
    try:
        return await _download(ctx, job, rt, state)
    except BaseException:
        if job.copy_to is not None:
            job.copy_to.unlink(missing_ok=True)
        raise


async def _download(ctx: Context, job: Job, rt: ProviderRuntime, state: TaskState) -> Record:
    part = ctx.cache.temp_path(f"{job.key}.part")
    for attempt in range(DOWNLOAD_ATTEMPTS):
        ctx.on_event(Event(job.scene_id, "downloading", state.task_id))
        # Off the loop: it re-hashes a partial download.
        sink = await anyio.to_thread.run_sync(Sink, part, job.copy_to)
        try:
            await rt.provider.download(state, sink)
        except ProviderError as exc:
            await anyio.to_thread.run_sync(sink.close)
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
            ctx.on_event(Event(job.scene_id, "retry", f"download interrupted ({exc}); resuming"))
            await ctx.clock.sleep(ctx.backoff(attempt))
            continue
        except BaseException:
            with anyio.CancelScope(shield=True):  # cancelled or interrupted: keep what arrived, for a resume
                await anyio.to_thread.run_sync(sink.close)
            raise
        try:
            sha256, size, delivered = await anyio.to_thread.run_sync(_finish, sink, part)
        except Mp4Problem as exc:
            part.unlink(missing_ok=True)
            if job.copy_to is not None:
                job.copy_to.unlink(missing_ok=True)
            if attempt == DOWNLOAD_ATTEMPTS - 1:
                raise SceneFailed(
                    f"task {state.task_id} downloaded as an invalid video ({exc}); "
                    "rerun the build to download it again (no new charge)"
                ) from None
            ctx.on_event(Event(job.scene_id, "retry", f"downloaded file is invalid ({exc}); fetching again"))
            continue
        record = Record(
            key=job.key,
            request=job.request.identity(),
            provider_kind=rt.kind,
            task_id=state.task_id,
            sha256=sha256,
            bytes=size,
            delivered=kept(ctx, job, delivered),
        )
        await anyio.to_thread.run_sync(_keep, ctx, part, record)
        return record
    raise AssertionError("unreachable: the loop returns or raises")


def _finish(sink: Sink, part: Path) -> tuple[str, int, Delivered]:
    """The download's sha256 and size once durable, and what its frames show (one trip off the event loop)."""
    sha256, size = sink.finish()
    return sha256, size, probe_mp4(part)


def _keep(ctx: Context, part: Path, record: Record) -> None:
    """Store the blob and its record, then close the journal entry (one trip off the event loop)."""
    ctx.cache.add_blob(part, record.sha256)
    ctx.cache.put(record)
    ctx.journal.done(record.key)


def kept(ctx: Context, job: Job, delivered: Delivered) -> dict[str, object] | None:
    """What to record of a video that decodes but is not what was asked for; warn that it was kept.

    It was paid for: throwing it away would pay again for the same request, and a rerun would loop on it.
    """
    difference = delivered.differs(job.request.size, job.length)
    if difference is None:
        return None
    ctx.on_event(Event(job.scene_id, "warning", f"the provider delivered {difference}; kept, as it was paid for"))
    return {"size": delivered.size, "seconds": round(delivered.seconds)}
