"""The file a download goes into: hashed, written and made durable by threads of its own while bytes arrive."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

BLOCK = 2**20  # bytes handed to the worker threads at a time (as the pieces they arrived in: no copy)
QUEUED = 2  # blocks waiting for each worker at most: memory stays under (QUEUED + 3) * BLOCK whatever the size
# Bytes written between two early syncs. Left to the end, the sync of 1 GiB took 1.4 s after the last byte
# came; started as the bytes arrive, the disk writes while the network still sends, and finish() waits for little.
# Each sync then lets the synced pages leave the page cache, so the next 64 MiB reuse them: on a VM, taking fresh
# memory for every page of a 1 GiB download cost it about a second of CPU, more on some runs than on others.
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

    With ``copy``, a third thread writes the same bytes to that file too (an output that would otherwise be
    copied from the stored blob once the download is over): it holds exactly what the temp file holds, or it is
    deleted. It is not needed for the download, so failing to write it fails nothing.
    """

    def __init__(self, path: Path, copy: Path | None = None) -> None:
        self.path = path
        self._fh = path.open("ab")
        self._digest = hashlib.sha256()
        if self._fh.tell():
            with path.open("rb") as fin:
                while chunk := fin.read(BLOCK):
                    self._digest.update(chunk)
        self._offset = self._fh.tell()
        self._copy = copy
        self._copy_fh = _twin(copy, self._offset) if copy is not None else None
        self._pieces: list[bytes] = []
        self._held = 0
        self._flush: threading.Thread | None = None
        self._flush_failed: OSError | None = None
        self._start()

    def _start(self) -> None:
        self._unflushed = 0
        # Started with the first whole block: a download smaller than a block (most videos) is hashed and written
        # where it finishes, already off the event loop, without three threads to start and join.
        self._workers: tuple[_Worker, ...] = ()
        self._copier: _Worker | None = None

    def _start_workers(self) -> None:
        self._workers = (
            _Worker("renderkit-hash", self._digest.update),
            _Worker("renderkit-write", self._append),
        )
        self._copier = _Worker("renderkit-copy", self._copy_fh.write) if self._copy_fh is not None else None

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
            os.fsync(self._fh.fileno())  # not fdatasync: macOS has none, and a growing file's size is synced anyway
        except OSError as exc:  # the kernel reports a writeback error once: keep it for finish
            self._flush_failed = exc
            return
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self._fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)

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
        if not self._workers:
            self._start_workers()
        for worker in self._all_workers():
            worker.put(self._pieces)
        self._pieces, self._held = [], 0

    def _all_workers(self) -> tuple[_Worker, ...]:
        return self._workers if self._copier is None else (*self._workers, self._copier)

    def _drain(self) -> None:
        """Hand over what is buffered and wait for the workers and the last early flush to finish."""
        if not self._workers:
            self._keep_here()
            return
        if self._pieces:
            self._hand_over()
        for worker in self._all_workers():
            worker.stop()
        if self._flush is not None:
            self._flush.join()
        if self._copier is not None and self._copier.failed is not None:
            self._drop_copy()
        self._check()

    def _keep_here(self) -> None:
        """Hash and write what is buffered on this thread: less than a block, and no worker was started."""
        for piece in self._pieces:
            self._digest.update(piece)
            self._append(piece)
            if self._copy_fh is not None:
                try:
                    self._copy_fh.write(piece)
                except OSError:
                    self._drop_copy()
        self._pieces, self._held = [], 0
        self._check()

    def _drop_copy(self) -> None:
        if self._copy_fh is not None and self._copy is not None:
            self._copy_fh.close()
            self._copy.unlink(missing_ok=True)
        self._copy_fh = self._copier = None

    def reset(self) -> None:
        """Drop what is held: the server is sending from byte 0 again."""
        if self._workers:
            self._drain()
        self._pieces, self._held = [], 0
        self._fh.seek(0)
        self._fh.truncate()
        if self._copy_fh is not None:
            self._copy_fh.seek(0)
            self._copy_fh.truncate()
        self._digest = hashlib.sha256()
        self._offset = 0
        self._start()

    def finish(self) -> tuple[str, int]:
        """Make the bytes durable and return their sha256 and size (blocking: call it off the event loop).

        The copy is closed but not synced: the temp file, which becomes the stored blob, is the durable one.
        """
        try:
            self._drain()
            self._fh.flush()
            os.fsync(self._fh.fileno())
            size = self._fh.tell()
        except BaseException:
            self._drop_copy()
            raise
        finally:
            self._fh.close()
        if self._copy_fh is not None:
            try:
                self._copy_fh.close()
            except OSError:
                self._drop_copy()
        _give_back_freed_memory()
        return self._digest.hexdigest(), size

    def close(self) -> None:
        """Close without finishing: what was received is written, and the partial file stays for a resume."""
        with contextlib.suppress(OSError):
            self._drain()
        self._fh.close()
        if self._copy_fh is not None:
            with contextlib.suppress(OSError):
                self._copy_fh.close()


def _give_back_freed_memory() -> None:
    """Return the heap pages the download's buffers left free to the system (glibc keeps them otherwise)."""
    if sys.platform == "linux":
        import ctypes

        with contextlib.suppress(AttributeError, OSError):
            ctypes.CDLL(None).malloc_trim(0)


def _twin(copy: Path, offset: int) -> BinaryIO | None:
    """``copy`` opened to follow a temp file of ``offset`` bytes: None (and no file) unless it holds as many."""
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        fh = copy.open("ab")
    except OSError:
        return None
    if fh.tell() == offset:
        return fh
    fh.close()
    copy.unlink(missing_ok=True)
    return None
