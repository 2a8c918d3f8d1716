"""The planner's view of past builds: the lock's records are read in a few queries, not one per scene."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderkit.plan.state import BuildState
from renderkit.store.cache import Cache, Record
from renderkit.store.layout import CacheLayout
from renderkit.store.lockfile import Lock, LockEntry


def _entry(scene_id: str, key: str) -> LockEntry:
    return LockEntry(scene_id, key, "simulator", "m", "160x90", 4, f"t-{key}", f"renders/{scene_id}.mp4", "a" * 64, 1)


def test_the_records_a_lock_pins_are_read_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    records = {f"k{i}": Record(f"k{i}", {"prompt": str(i)}, "simulator", f"t{i}", "a" * 64, 1) for i in range(30)}
    for record in records.values():
        cache.put(record)
    lock = Lock({f"s{i}": _entry(f"s{i}", f"k{i}") for i in range(25)})  # k25..k29 are cached, not pinned
    single: list[str] = []
    real_get = cache.get

    def get(key: str) -> Record | None:
        single.append(key)
        return real_get(key)

    monkeypatch.setattr(cache, "get", get)
    state = BuildState(cache, lock)
    assert [state.record(f"k{i}") for i in range(25)] == [records[f"k{i}"] for i in range(25)]
    assert single == []
    assert state.record("k27") == records["k27"]
    assert state.record("gone") is None
    assert state.record("gone") is None  # remembered
    assert single == ["k27", "gone"]


def test_without_a_lock_each_record_is_read_alone(tmp_path: Path) -> None:
    cache = Cache(CacheLayout(tmp_path / "c"))
    record = Record("k", {"prompt": "p"}, "simulator", "t", "a" * 64, 1)
    cache.put(record)
    state = BuildState(cache, None)
    assert state.record("k") == record
    assert state.record("other") is None
