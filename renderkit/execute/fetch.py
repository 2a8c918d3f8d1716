"""Download a finished task into the blob store: streamed, hashed, resumed, decoded, and only then kept."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path

import anyio

from renderkit.errors import ProviderError
from renderkit.execute.events import Event, SceneFailed
from renderkit.execute.jobs import Context, Job, ProviderRuntime
from renderkit.execute.video import Delivered, Mp4Problem, probe_mp4
from renderkit.providers.base import TaskState
from renderkit.store.cache import Record

DOWNLOAD_ATTEMPTS = 5


BLOCK = 2**20  # bytes handed to the writer thread at a time (as the pieces they arrived in: no copy)
QUEUED = 4  # blocks waiting for the writer at most: memory stays under (QUEUED + 2) * BLOCK whatever the size


class Sink:
    """A temp file that hashes what it holds, written by a thread of its own, resumable and restartable.

    The event loop only receives: pieces are gathered into blocks that a writer thread appends and hashes, so the
    network, the hash and the disk run at once. ``offset`` counts what was received, written or not yet.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = path.open("ab")
        self._digest = hashlib.sha256()
        if self._fh.tell():
            with path.open("rb") as fin:
                while chunk := fin.read(BLOCK):
                    self._digest.update(chunk)
        self._offset = self._fh.tell()
        self._pieces: list[bytes] = []
        self._held = 0
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(QUEUED)
        self._failed: BaseException | None = None
        self._writer = threading.Thread(target=self._write_blocks, name="renderkit-sink", daemon=True)
        self._writer.start()

    def _write_blocks(self) -> None:
        while (block := self._queue.get()) is not None:
            if self._failed is None:
                try:
                    for piece in block:
                        self._fh.write(piece)
                        self._digest.update(piece)
                except OSError as exc:  # raised to the caller at the next write or at finish
                    self._failed = exc

    def _check(self) -> None:
        if self._failed is not None:
            raise self._failed

    @property
    def offset(self) -> int:
        """Bytes held so far (where a resumed download starts)."""
        return self._offset

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; full blocks go to the writer (this waits only when the disk falls behind)."""
        self._check()
        self._pieces.append(chunk)
        self._held += len(chunk)
        self._offset += len(chunk)
        if self._held >= BLOCK:
            self._hand_over()

    def _hand_over(self) -> None:
        self._queue.put(self._pieces)
        self._pieces, self._held = [], 0

    def _drain(self) -> None:
        """Hand over what is buffered and wait for the writer to finish everything."""
        if self._pieces:
            self._hand_over()
        self._queue.put(None)
        self._writer.join()
        self._check()

    def reset(self) -> None:
        """Drop what is held: the server is sending from byte 0 again."""
        self._drain()
        self._fh.seek(0)
        self._fh.truncate()
        self._digest = hashlib.sha256()
        self._offset = 0
        self._writer = threading.Thread(target=self._write_blocks, name="renderkit-sink", daemon=True)
        self._writer.start()

    def finish(self) -> tuple[str, int]:
        """Make the bytes durable and return their sha256 and size (blocking: call it off the event loop)."""
        self._drain()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        size = self._fh.tell()
        self._fh.close()
        return self._digest.hexdigest(), size

    def close(self) -> None:
        """Close without finishing: what was received is written, and the partial file stays for a resume."""
        try:
            self._drain()
        except OSError:
            pass
        self._fh.close()


async def download(ctx: Context, job: Job, rt: ProviderRuntime, state: TaskState) -> Record:
    """Fetch ``state``'s video, prove it decodes as the video asked for, store the blob and its index record."""
    part = ctx.cache.temp_path(f"{job.key}.part")
    for attempt in range(DOWNLOAD_ATTEMPTS):
        ctx.on_event(Event(job.scene_id, "downloading", state.task_id))
        sink = await anyio.to_thread.run_sync(Sink, part)  # re-hashes a partial download: off the loop
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
        sha256, size = await anyio.to_thread.run_sync(sink.finish)
        try:
            delivered = await anyio.to_thread.run_sync(probe_mp4, part)
        except Mp4Problem as exc:
            part.unlink(missing_ok=True)
            if attempt == DOWNLOAD_ATTEMPTS - 1:
                raise SceneFailed(
                    f"task {state.task_id} downloaded as an invalid video ({exc}); "
                    "rerun the build to download it again (no new charge)"
                ) from None
            ctx.on_event(Event(job.scene_id, "retry", f"downloaded file is invalid ({exc}); fetching again"))
            continue
        await anyio.to_thread.run_sync(ctx.cache.add_blob, part, sha256)
        record = Record(
            key=job.key,
            request=job.request.identity(),
            provider_kind=rt.kind,
            task_id=state.task_id,
            sha256=sha256,
            bytes=size,
            delivered=kept(ctx, job, delivered),
        )
        await anyio.to_thread.run_sync(ctx.cache.put, record)
        await ctx.record(ctx.journal.done, job.key)
        return record
    raise AssertionError("unreachable: the loop returns or raises")


def kept(ctx: Context, job: Job, delivered: Delivered) -> dict[str, object] | None:
    """What to record of a video that decodes but is not what was asked for; warn that it was kept.

    It was paid for: throwing it away would pay again for the same request, and a rerun would loop on it.
    """
    difference = delivered.differs(job.request.size, job.length)
    if difference is None:
        return None
    ctx.on_event(Event(job.scene_id, "warning", f"the provider delivered {difference}; kept, as it was paid for"))
    return {"size": delivered.size, "seconds": round(delivered.seconds)}
