"""The cache: JSON-only index, verified blobs, stat-trusted outputs, and gc."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from renderkit.store.cache import BATCH, Cache, Record
from renderkit.store.layout import CacheLayout


def store(cache: Cache, key: str, data: bytes) -> Record:
    sha = hashlib.sha256(data).hexdigest()
    tmp = cache.temp_path(f"{key}.part")
    tmp.write_bytes(data)
    cache.add_blob(tmp, sha)
    record = Record(
        key=key,
        request={"prompt": key},
        provider_kind="simulator",
        task_id=f"t-{key}",
        sha256=sha,
        bytes=len(data),
    )
    cache.put(record)
    return record


def test_record_round_trips_and_index_holds_only_text(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    assert cache.get("k1") == record
    cache.close()
    db = sqlite3.connect(tmp_path / "c" / "index" / "cache.db")
    modes = {row[0] for row in db.execute("SELECT mode FROM Cache")}
    db.close()
    # diskcache mode 1 = raw value (str/bytes/int); 4 = pickle. Only raw values are allowed.
    assert modes == {1}


def test_plan_side_lookups_create_nothing(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    assert cache.get("k") is None
    assert cache.output_fresh(tmp_path / "x.mp4", "a" * 64) is False
    assert list(cache.keys()) == []
    assert not (tmp_path / "c").exists()


def test_materialize_verifies_and_drops_a_corrupt_blob(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    good = store(cache, "good", b"good bytes")
    bad = store(cache, "bad", b"bad bytes")
    cache.blob_path(bad.sha256).write_bytes(b"bit rot")
    out = tmp_path / "renders"
    assert cache.materialize(good, out / "good.mp4") is True
    assert (out / "good.mp4").read_bytes() == b"good bytes"
    assert cache.materialize(bad, out / "bad.mp4") is False
    assert not (out / "bad.mp4").exists()
    assert not cache.blob_path(bad.sha256).exists()
    assert any("corrupt" in p for p in cache.problems)
    assert sorted(p.name for p in out.iterdir()) == ["good.mp4"]


def test_output_fresh_trusts_only_the_file_it_wrote(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k", b"abc")
    dest = tmp_path / "out.mp4"
    assert cache.materialize(record, dest)
    assert cache.output_fresh(dest, record.sha256)
    st = dest.stat()
    dest.write_bytes(b"abd")  # an edit in place: same size, same inode
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # a later mtime, on any filesystem
    assert not cache.output_fresh(dest, record.sha256)
    assert cache.materialize(record, dest)
    st = dest.stat()
    replacement = tmp_path / "other.mp4"
    replacement.write_bytes(b"abd")
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime; only the inode differs
    os.replace(replacement, dest)
    assert not cache.output_fresh(dest, record.sha256)
    dest.unlink()
    assert not cache.output_fresh(dest, record.sha256)


@pytest.mark.parametrize("text", ["{", '{"key": 1}', "[]"])
def test_corrupt_record_is_a_reported_miss(tmp_path: Path, text: str) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    cache.index.set("rec:k", text)
    assert cache.get("k") is None
    assert cache.problems


def test_task_ids_name_every_cached_render_and_shot_for_reconcile_to_leave_alone(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    store(cache, "k1", b"one")
    board = store(cache, "k2", b"two")
    shots = ({"key": "s1", "task_id": "t-shot-1"}, {"key": "s2", "task_id": "t-shot-2"}, {"key": "s3"})
    cache.put(dataclasses.replace(board, shots=shots))
    cache.index.set("rec:k3", "{")  # a corrupt record names no task; it is a miss, not an error
    assert cache.task_ids() == {"t-k1", "t-k2", "t-shot-1", "t-shot-2"}
    cache.close()


def test_a_record_whose_blob_is_gone_is_not_usable(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    assert cache.usable("k1") == record
    cache.blob_path(record.sha256).unlink()
    assert cache.usable("k1") is None
    assert cache.get("k1") == record, "the record stays: the blob can be fetched again"
    cache.close()


def test_a_record_keeps_its_shots_and_what_the_provider_delivered(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    full = dataclasses.replace(
        record, shots=({"key": "s1", "task_id": "t-shot-1"},), delivered={"size": "1280x704", "seconds": 4}
    )
    cache.put(full)
    cache.close()
    assert Cache(CacheLayout(tmp_path / "c")).get("k1") == full


def test_materializing_a_record_whose_blob_is_gone_says_so_and_writes_nothing(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    cache.blob_path(record.sha256).unlink()
    dest = tmp_path / "renders" / "k1.mp4"
    assert cache.materialize(record, dest) is False
    assert cache.problems == [f"blob {record.sha256[:12]} is missing from the cache"]
    assert not dest.exists()
    cache.close()


def test_a_record_is_compact_json_with_sorted_keys_whatever_order_it_was_built_in() -> None:
    # The remote stores these bytes and every machine must write the same ones for the same render.
    a = Record("k", {"size": "1280x720", "prompt": "p"}, "openai", "t", "ab" * 32, 3, delivered={"seconds": 4})
    b = dataclasses.replace(a, request={"prompt": "p", "size": "1280x720"})
    assert (
        a.to_json()
        == b.to_json()
        == (
            '{"bytes":3,"delivered":{"seconds":4},"key":"k","provider_kind":"openai",'
            f'"request":{{"prompt":"p","size":"1280x720"}},"sha256":"{"ab" * 32}","shots":[],"task_id":"t"}}'
        )
    )
    assert Record.from_json(a.to_json()) == a


def test_a_corrupt_record_is_reported_by_its_key(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    key = "0123456789abcdef" * 4
    cache.index.set(f"rec:{key}", "{")
    assert cache.get(key) is None
    assert cache.problems == ["cache record for 0123456789ab is corrupt; it will be rebuilt"]
    cache.close()


def test_blobs_that_share_a_folder_are_both_kept(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    first, second = "aa" + "1" * 62, "aa" + "2" * 62  # blobs/aa/ holds both
    for sha in (first, second):
        tmp = cache.temp_path(sha)
        tmp.write_bytes(sha.encode())
        assert cache.add_blob(tmp, sha) == cache.blob_path(sha)
    assert cache.blob_path(first).parent == cache.blob_path(second).parent
    assert [cache.blob_path(s).read_bytes() for s in (first, second)] == [first.encode(), second.encode()]
    src = tmp_path / "adopted.mp4"
    src.write_bytes(b"adopted")
    sha = "aa" + "3" * 62
    assert cache.add_blob_copy(src, sha).read_bytes() == b"adopted"
    cache.close()


def test_materialize_creates_the_folders_an_output_needs(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    dest = tmp_path / "renders" / "act-1" / "scene-2" / "k1.mp4"
    assert cache.materialize(record, dest) is True
    assert dest.read_bytes() == b"video bytes"
    cache.close()


def test_a_corrupt_blob_is_reported_by_its_digest(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    cache.blob_path(record.sha256).write_bytes(b"video bytez")
    assert cache.materialize(record, tmp_path / "k1.mp4") is False
    assert cache.problems == [f"blob {record.sha256[:12]} was corrupt and has been dropped"]
    cache.close()


def test_a_new_cache_object_trusts_the_outputs_an_earlier_one_wrote(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    dest = tmp_path / "k1.mp4"
    assert cache.materialize(record, dest)
    cache.close()
    again = Cache(CacheLayout(tmp_path / "c"))  # the next build: the index is not open yet
    assert again.output_fresh(dest, record.sha256) is True
    assert again.output_fresh(dest, "f" * 64) is False
    again.close()


def _disk_full(created: bool) -> Callable[[Path, Path], None]:
    """A copy that fails with ENOSPC, after creating (part of) its destination or before."""

    def clone(src: Path, dest: Path) -> None:
        if created:
            dest.write_bytes(src.read_bytes()[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    return clone


@pytest.mark.parametrize("created", [True, False], ids=["part-written", "not-created"])
def test_a_copy_that_fails_leaves_no_temp_file_and_raises_the_disk_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created: bool
) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    src = tmp_path / "adopt.mp4"
    src.write_bytes(b"adopted bytes")
    monkeypatch.setattr("renderkit.store.cache._clone", _disk_full(created))
    with pytest.raises(OSError, match="No space left") as adopting:
        cache.add_blob_copy(src, hashlib.sha256(b"adopted bytes").hexdigest())
    assert adopting.value.errno == errno.ENOSPC
    out = tmp_path / "renders"
    out.mkdir()
    with pytest.raises(OSError, match="No space left") as materializing:
        cache.materialize(record, out / "k1.mp4")
    assert materializing.value.errno == errno.ENOSPC
    assert list(cache.tmp.iterdir()) == []
    assert list(out.iterdir()) == []
    assert not cache.blob_path(hashlib.sha256(b"adopted bytes").hexdigest()).exists()
    cache.close()


def test_a_record_written_before_shots_existed_still_reads(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = store(cache, "k1", b"video bytes")
    old = json.loads(record.to_json())
    del old["shots"]  # renderkit wrote no "shots" before storyboards; the remote may still serve such records
    cache.index.set("rec:k1", json.dumps(old))
    assert cache.get("k1") == record
    assert cache.problems == []
    cache.close()


def test_asking_whether_an_existing_file_is_fresh_creates_no_cache(tmp_path: Path) -> None:
    output = tmp_path / "intro.mp4"
    output.write_bytes(b"a file renderkit did not write")
    cache = Cache(CacheLayout(tmp_path / "c"))
    assert cache.output_fresh(output, hashlib.sha256(output.read_bytes()).hexdigest()) is False
    assert not (tmp_path / "c").exists()


def test_get_many_reads_in_batches_what_get_reads_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    keys = [f"k{i:04d}" for i in range(BATCH * 2 + 1)]  # three batches
    for key in keys:
        cache.put(Record(key, {"prompt": key}, "simulator", f"t-{key}", "a" * 64, 1))
    # diskcache keeps a value this long in a file of its own, not in the row: get_many reads it there too.
    cache.put(Record("big", {"prompt": "x" * 40_000}, "simulator", "t-big", "b" * 64, 2))
    cache.index.set("rec:torn", "{")
    wanted = [*keys, "big", "torn", "absent", "k0000"]
    one_by_one = {key: cache.get(key) for key in wanted}
    assert cache.problems == ["cache record for torn is corrupt; it will be rebuilt"]
    statements: list[str] = []
    cache.index._con.set_trace_callback(statements.append)
    monkeypatch.setattr(cache.index, "get", None)  # not one key at a time
    assert cache.get_many(wanted) == one_by_one
    assert one_by_one["big"] is not None
    assert len(one_by_one["big"].request["prompt"]) == 40_000
    assert one_by_one["absent"] is None
    assert one_by_one["torn"] is None
    assert len([s for s in statements if s.startswith("SELECT")]) == 3  # 1,004 keys: 500 + 500 + 4
    assert cache.problems[-1] == "cache record for torn is corrupt; it will be rebuilt"


def test_get_many_of_a_cache_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    assert cache.get_many(["a", "b"]) == {"a": None, "b": None}
    assert cache.fresh_outputs({str(tmp_path / "x.mp4"): "a" * 64}) == set()
    assert not (tmp_path / "c").exists()


def test_fresh_outputs_names_exactly_the_files_still_as_written(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    records = [store(cache, f"k{i}", f"bytes {i}".encode()) for i in range(4)]
    paths = [tmp_path / "out" / f"s{i}.mp4" for i in range(4)]
    for record, path in zip(records, paths, strict=True):
        assert cache.materialize(record, path)
    paths[1].unlink()  # gone
    paths[2].write_bytes(b"edited!")  # changed size
    unrecorded = tmp_path / "out" / "never-written.mp4"
    unrecorded.write_bytes(b"bytes 0")
    wanted = {str(p): r.sha256 for p, r in zip(paths, records, strict=True)}
    wanted[str(paths[3])] = "f" * 64  # the file renderkit wrote, but not from this digest
    wanted[str(unrecorded)] = records[0].sha256
    assert cache.fresh_outputs(wanted) == {str(paths[0])}
    assert cache.fresh_outputs({}) == set()
