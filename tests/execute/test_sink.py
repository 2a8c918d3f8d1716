"""The download sink: every byte kept in order and hashed, resumed and restarted, and made durable as it comes."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from renderkit.execute.sink import BLOCK, Sink


def pieces(total: int, seed: int) -> list[bytes]:
    """``total`` random bytes cut at random points, some pieces larger than a block."""
    rng = random.Random(seed)
    out = []
    while total > 0:
        size = min(total, rng.choice([1, 1000, 65536, 262144, BLOCK + 17, 3 * BLOCK]))
        out.append(rng.randbytes(size))
        total -= size
    return out


def test_every_byte_is_kept_in_order_and_hashed(tmp_path: Path) -> None:
    data = pieces(9 * BLOCK + 123, seed=1)
    sink = Sink(tmp_path / "v.part")
    for piece in data:
        sink.write(piece)
    whole = b"".join(data)
    assert sink.offset == len(whole)
    assert sink.finish() == (hashlib.sha256(whole).hexdigest(), len(whole))
    assert (tmp_path / "v.part").read_bytes() == whole


def test_a_closed_sink_resumes_where_it_stopped(tmp_path: Path) -> None:
    data = b"".join(pieces(5 * BLOCK, seed=2))
    first = Sink(tmp_path / "v.part")
    first.write(data[: 2 * BLOCK + 5])
    first.close()
    again = Sink(tmp_path / "v.part")
    assert again.offset == 2 * BLOCK + 5
    again.write(data[2 * BLOCK + 5 :])
    assert again.finish() == (hashlib.sha256(data).hexdigest(), len(data))


def test_reset_starts_over_from_byte_zero(tmp_path: Path) -> None:
    sink = Sink(tmp_path / "v.part")
    sink.write(b"x" * (3 * BLOCK))
    sink.reset()
    assert sink.offset == 0
    sink.write(b"fresh")
    assert sink.finish() == (hashlib.sha256(b"fresh").hexdigest(), 5)
    assert (tmp_path / "v.part").read_bytes() == b"fresh"


def test_the_disk_is_asked_to_write_while_bytes_still_arrive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced_at: list[int] = []  # the file's size at each sync
    first_sync = threading.Event()
    real_fsync = os.fsync

    def sync(fd: int) -> None:
        synced_at.append(os.fstat(fd).st_size)
        first_sync.set()
        real_fsync(fd)

    monkeypatch.setattr("renderkit.execute.sink.FLUSH_EVERY", BLOCK)
    monkeypatch.setattr(os, "fsync", sync)
    sink = Sink(tmp_path / "v.part")
    data = b"".join(pieces(6 * BLOCK, seed=3))
    sink.write(data[: 3 * BLOCK])  # at least two whole blocks reach the writer thread
    # No more bytes come until the disk was asked to write what it has: a sync kept for the end would hang here.
    assert first_sync.wait(30), "no sync while the rest of the bytes were still to come"
    sink.write(data[3 * BLOCK :])
    assert sink.finish() == (hashlib.sha256(data).hexdigest(), 6 * BLOCK)
    assert synced_at[0] <= 3 * BLOCK
    assert synced_at[-1] == 6 * BLOCK


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this platform")
def test_bytes_on_disk_leave_the_page_cache_as_a_large_download_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each early sync hands the file's pages back: the next megabytes reuse them instead of taking fresh memory."""
    advised: list[tuple[int, int]] = []  # the file's size and the advice at each call
    real_fadvise = os.posix_fadvise

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        advised.append((os.fstat(fd).st_size, advice))
        real_fadvise(fd, offset, length, advice)

    monkeypatch.setattr("renderkit.execute.sink.FLUSH_EVERY", BLOCK)
    monkeypatch.setattr(os, "posix_fadvise", fadvise)
    sink = Sink(tmp_path / "v.part")
    data = b"".join(pieces(6 * BLOCK, seed=4))
    for start in range(0, len(data), BLOCK):
        sink.write(data[start : start + BLOCK])
    assert sink.finish() == (hashlib.sha256(data).hexdigest(), 6 * BLOCK)
    assert advised, "no early sync let its pages go"
    assert {advice for _, advice in advised} == {os.POSIX_FADV_DONTNEED}
    assert (tmp_path / "v.part").read_bytes() == data, "dropped from memory, not from the file"


def test_a_failed_early_sync_fails_the_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel reports a writeback error to one sync only: the early one must not swallow it."""
    calls: list[int] = []
    real_fsync = os.fsync

    def fails_once(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.EIO, "I/O error")
        real_fsync(fd)

    monkeypatch.setattr("renderkit.execute.sink.FLUSH_EVERY", BLOCK)
    monkeypatch.setattr(os, "fsync", fails_once)
    sink = Sink(tmp_path / "v.part")
    sink.write(b"x" * (2 * BLOCK))
    with pytest.raises(OSError, match="I/O error"):
        sink.finish()


def test_a_copy_holds_the_same_bytes_as_the_file(tmp_path: Path) -> None:
    data = pieces(5 * BLOCK + 9, seed=4)
    sink = Sink(tmp_path / "v.part", tmp_path / "out" / "v.mp4.tmp")
    for piece in data:
        sink.write(piece)
    sink.finish()
    assert (tmp_path / "out" / "v.mp4.tmp").read_bytes() == (tmp_path / "v.part").read_bytes() == b"".join(data)


def test_a_copy_follows_a_resume_and_a_restart(tmp_path: Path) -> None:
    part, copy = tmp_path / "v.part", tmp_path / "v.copy"
    first = Sink(part, copy)
    first.write(b"a" * (BLOCK + 3))
    first.close()
    again = Sink(part, copy)
    again.write(b"b" * 10)
    again.reset()
    again.write(b"c" * (2 * BLOCK))
    again.finish()
    assert copy.read_bytes() == part.read_bytes() == b"c" * (2 * BLOCK)


def test_a_copy_that_does_not_hold_what_the_file_holds_is_dropped(tmp_path: Path) -> None:
    part, copy = tmp_path / "v.part", tmp_path / "v.copy"
    first = Sink(part)  # a partial download without its copy
    first.write(b"a" * 100)
    first.close()
    copy.write_bytes(b"a" * 99)
    again = Sink(part, copy)
    again.write(b"b" * 10)
    again.finish()
    assert not copy.exists()
    assert part.read_bytes() == b"a" * 100 + b"b" * 10


class FailingWriter:
    """A file that refuses every write after the first ``room`` bytes, as a full disk does."""

    def __init__(self, path: Path, room: int) -> None:
        self.fh = path.open("ab")
        self.room = room

    def write(self, piece: bytes) -> int:
        if len(piece) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(piece)
        return self.fh.write(piece)

    def close(self) -> None:
        self.fh.close()


def test_a_copy_that_cannot_be_written_fails_nothing_and_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part, copy = tmp_path / "v.part", tmp_path / "v.copy"
    monkeypatch.setattr("renderkit.execute.sink._twin", lambda path, offset: FailingWriter(path, BLOCK))
    sink = Sink(part, copy)
    data = b"x" * (4 * BLOCK)
    sink.write(data)
    assert sink.finish() == (hashlib.sha256(data).hexdigest(), len(data))
    assert part.read_bytes() == data
    assert not copy.exists()


FRAGMENTED_HEAP = """
import sys, tempfile
from pathlib import Path
from renderkit.execute.sink import Sink

def heap_kib():
    rss = 0
    with open("/proc/self/smaps") as fh:
        lines = iter(fh)
        for line in lines:
            if line.rstrip().endswith("[heap]"):
                rss = next(l for l in lines if l.startswith("Rss:")).split()[1]
    return int(rss)

spare = bytearray(600 * 1024)  # freeing a large mapped block makes glibc serve such blocks from its heap after
del spare
big, small = [], []
for _ in range(40):  # buffers, each with a small block after it that stays: the heap cannot shrink from its top
    big.append(bytes(512 * 1024))
    small.append(bytes(1000))
del big
before = heap_kib()
with tempfile.TemporaryDirectory() as tmp:
    sink = Sink(Path(tmp) / "v.part")
    sink.write(b"x" * 100)
    sink.finish()
print(before, heap_kib())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's heap, read from /proc")
def test_finishing_gives_the_heap_that_download_buffers_left_free_back() -> None:
    run = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_HEAP], capture_output=True, text=True, timeout=60, check=True
    )
    before, after = (int(n) for n in run.stdout.split())
    assert before - after > 4 * 1024, (before, after)


def test_a_download_smaller_than_a_block_starts_no_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    class Counted(threading.Thread):
        def start(self) -> None:
            started.append(self.name)
            super().start()

    monkeypatch.setattr("renderkit.execute.sink.threading.Thread", Counted)
    small = [b"a" * 1000, b"b" * (BLOCK - 1001)]
    sink = Sink(tmp_path / "small.part", tmp_path / "small.mp4")
    for piece in small:
        sink.write(piece)
    sink.reset()  # the server starts over: what was held goes, nothing of it is written
    for piece in small:
        sink.write(piece)
    whole = b"".join(small)
    assert sink.finish() == (hashlib.sha256(whole).hexdigest(), len(whole))
    assert (tmp_path / "small.part").read_bytes() == whole
    assert (tmp_path / "small.mp4").read_bytes() == whole
    assert started == [], "hashed and written where it finished"
    large = Sink(tmp_path / "large.part", tmp_path / "large.mp4")
    large.write(b"c" * BLOCK)
    assert large.finish() == (hashlib.sha256(b"c" * BLOCK).hexdigest(), BLOCK)
    assert sorted(started) == ["renderkit-copy", "renderkit-hash", "renderkit-write"]
    assert (tmp_path / "large.mp4").read_bytes() == b"c" * BLOCK


def test_a_small_download_that_stops_is_kept_for_a_resume(tmp_path: Path) -> None:
    first = Sink(tmp_path / "v.part")
    first.write(b"head")
    first.close()
    again = Sink(tmp_path / "v.part")
    assert again.offset == 4
    again.write(b"tail")
    assert again.finish() == (hashlib.sha256(b"headtail").hexdigest(), 8)
