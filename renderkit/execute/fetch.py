"""Download a finished task into the blob store: streamed, hashed, resumed, decoded, and only then kept."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import anyio

from renderkit.errors import ProviderError
from renderkit.execute.events import Event, SceneFailed
from renderkit.execute.jobs import Context, Job, ProviderRuntime
from renderkit.execute.video import Delivered, Mp4Problem, probe_mp4
from renderkit.providers.base import TaskState
from renderkit.store.cache import Record

DOWNLOAD_ATTEMPTS = 5


BLOCK = 2**20  # bytes handed to the worker threads at a time (as the pieces they arrived in: no copy)
QUEUED = 4  # blocks waiting for each worker at most: memory stays under (QUEUED + 3) * BLOCK whatever the size
# Bytes written between two early fdatasyncs. Left to the end, the sync of 1 GiB took 1.4 s after the last byte
# came; started as the bytes arrive, the disk writes while the network still sends, and finish() waits for little.
FLUSH_EVERY = 64 * 2**20


class _Worker:
    """A thread that applies ``step`` to every piece of every block it is given, in order."""

    def __init__(self, name: str, step: Callable[[bytes], object]) -> None:
        self._step = step
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(QUEUED)
        self.failed: OSError | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._queue.get()) is not None:
            if self.failed is None:
                try:
                    for piece in block:
                        self._step(piece)
                except OSError as exc:  # raised to the caller at the next write or at finish
                    self.failed = exc

    def put(self, block: list[bytes]) -> None:
        """Queue ``block``; waits while QUEUED blocks are ahead of it."""
        self._queue.put(block)

    def stop(self) -> None:
        """Wait until every queued block is done, then end the thread."""
        self._queue.put(None)
        self._thread.join()


class Sink:
    """A temp file that hashes what it holds, resumable and restartable, filled by threads of its own.

    The event loop only receives: pieces are gathered into blocks that one thread hashes while another appends
    them to the file and has the disk start on them, so the network, the hash and the disk run at once.
    ``offset`` counts what was received, written or not yet.
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
        self._flush: threading.Thread | None = None
        self._flush_failed: OSError | None = None
        self._start()

    def _start(self) -> None:
        self._unflushed = 0
        self._workers = (
            _Worker("renderkit-hash", self._digest.update),
            _Worker("renderkit-write", self._append),
        )

    def _append(self, piece: bytes) -> None:
        self._fh.write(piece)
        self._unflushed += len(piece)
        if self._unflushed >= FLUSH_EVERY and (self._flush is None or not self._flush.is_alive()):
            self._unflushed = 0
            self._fh.flush()
            self._flush = threading.Thread(target=self._sync, name="renderkit-flush", daemon=True)
            self._flush.start()

    def _sync(self) -> None:
        try:
            os.fdatasync(self._fh.fileno())
        except OSError as exc:  # the kernel reports a writeback error once: keep it for finish
            self._flush_failed = exc

    def _check(self) -> None:
        for failed in (*(w.failed for w in self._workers), self._flush_failed):
            if failed is not None:
                raise failed

    @property
    def offset(self) -> int:
        """Bytes held so far (where a resumed download starts)."""
        return self._offset

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; full blocks go to the workers (this waits only when the disk falls behind)."""
        self._check()
        self._pieces.append(chunk)
        self._held += len(chunk)
        self._offset += len(chunk)
        if self._held >= BLOCK:
            self._hand_over()

    def _hand_over(self) -> None:
        for worker in self._workers:
            worker.put(self._pieces)
        self._pieces, self._held = [], 0

    def _drain(self) -> None:
        """Hand over what is buffered and wait for the workers and the last early flush to finish."""
        if self._pieces:
            self._hand_over()
        for worker in self._workers:
            worker.stop()
        if self._flush is not None:
            self._flush.join()
        self._check()

    def reset(self) -> None:
        """Drop what is held: the server is sending from byte 0 again."""
        self._drain()
        self._fh.seek(0)
        self._fh.truncate()
        self._digest = hashlib.sha256()
        self._offset = 0
        self._start()

    def finish(self) -> tuple[str, int]:
        """Make the bytes durable and return their sha256 and size (blocking: call it off the event loop)."""
        try:
            self._drain()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            size = self._fh.tell()
        finally:
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
