"""renderkit.lock: byte-stable, sorted, atomic, and strict about what it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderkit.errors import LockfileError
from renderkit.store.lockfile import LockEntry, LockShot, LockTake, read_lock, write_lock


def entry(scene_id: str, key: str = "k" * 64, **extra: object) -> LockEntry:
    fields: dict[str, object] = {
        "id": scene_id,
        "key": key,
        "provider_kind": "simulator",
        "model": "sora-2",
        "size": "1280x720",
        "seconds": 4,
        "task_id": f"video_{scene_id}",
        "file": f"renders/{scene_id}.mp4",
        "sha256": "a" * 64,
        "bytes": 1234,
    }
    fields.update(extra)
    return LockEntry(**fields)  # type: ignore[arg-type]


def test_same_entries_in_any_order_give_the_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.lock", tmp_path / "b.lock"
    write_lock(a, [entry("zeta"), entry("alpha"), entry("mid")])
    write_lock(b, [entry("mid"), entry("zeta"), entry("alpha")])
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert text.index('"alpha"') < text.index('"mid"') < text.index('"zeta"')
    assert text.endswith("}\n")


def test_round_trip_keeps_every_field_including_shots_and_takes(tmp_path: Path) -> None:
    path = tmp_path / "renderkit.lock"
    shots = (LockShot(key="1" * 64, task_id="t1", sha256="2" * 64),)
    takes = (LockTake(take=1, key="3" * 64, task_id="t2", sha256="4" * 64),)
    original = [entry("a"), entry("b", shots=shots), entry("c", takes=takes)]
    write_lock(path, original)
    lock = read_lock(path)
    assert lock is not None
    assert lock.entries == {"a": original[0], "b": original[1], "c": original[2]}


def test_unchanged_lock_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "renderkit.lock"
    assert write_lock(path, [entry("a")]) is True
    before = path.stat().st_mtime_ns, path.stat().st_ino
    assert write_lock(path, [entry("a")]) is False
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_lock_holds_no_urls_times_or_secrets(tmp_path: Path) -> None:
    path = tmp_path / "renderkit.lock"
    write_lock(path, [entry("a")])
    text = path.read_text()
    for word in ("http", "expires", "created_at", "api_key", "Bearer"):
        assert word not in text


def test_missing_lock_reads_as_none(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "renderkit.lock") is None


def _one_scene(**raw: str) -> bytes:
    """A lockfile of one scene whose fields are the JSON texts given, the rest valid."""
    fields = {
        "bytes": "1234",
        "file": '"renders/a.mp4"',
        "id": '"a"',
        "key": '"' + "k" * 64 + '"',
        "model": '"sora-2"',
        "provider_kind": '"simulator"',
        "seconds": "4",
        "sha256": '"' + "a" * 64 + '"',
        "size": '"1280x720"',
        "task_id": '"video_a"',
        **raw,
    }
    body = ", ".join(f'"{name}": {value}' for name, value in fields.items())
    return f'{{"lock_version": 1, "scenes": [{{{body}}}]}}'.encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe garbage", "not a renderkit lockfile"),
        (b"{not json", "not a renderkit lockfile"),
        (b'{"lock_version": 99, "scenes": []}', "lock_version 99 is not supported"),
        (b'{"lock_version": 1, "scenes": {}}', "'scenes' must be a list"),
        (b'{"lock_version": 1, "scenes": [{"id": "a"}]}', "scenes[0]"),
        (b'{"lock_version": 1, "scenes": [7]}', "expected an object"),
        (b"[]", "lock_version None is not supported"),
        (_one_scene(seconds='"4"'), "scenes[0]: seconds and bytes must be integers"),
        (_one_scene(bytes="1.5"), "scenes[0]: seconds and bytes must be integers"),
    ],
)
def test_bad_lockfiles_are_reported_with_a_fix(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "renderkit.lock"
    path.write_bytes(content)
    with pytest.raises(LockfileError, match=None) as info:
        read_lock(path)
    assert message in str(info.value)
    assert "renderkit.lock" in str(info.value)


def test_a_lockfile_that_cannot_be_read_says_so_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "renderkit.lock"
    path.mkdir()
    with pytest.raises(LockfileError, match=r"renderkit\.lock: cannot be read \(Is a directory\); remove it"):
        read_lock(path)


def test_serialisation_is_the_sorted_two_space_json_of_the_entries(tmp_path: Path) -> None:
    import dataclasses
    import json

    shots = (
        LockShot(key="1" * 64, task_id="t1", sha256="2" * 64),
        LockShot(key="3" * 64, task_id="t2 \u00e9", sha256="4" * 64),
    )
    takes = (LockTake(1, "5" * 64, "t3 \u00e9", "6" * 64), LockTake(2, "7" * 64, "t4", "8" * 64))
    # Non-ASCII (an output_dir, a model's name, a provider's task ids) is written as it is: readable in a diff.
    entries = [
        entry("b", shots=shots),
        entry("a", model='odd "model" \u00e9', takes=takes),
        entry("c", file="vid\u00e9os/c.mp4", task_id="t\u00e2che"),
    ]
    path = tmp_path / "renderkit.lock"
    write_lock(path, entries)
    blocks = []
    for e in sorted(entries, key=lambda e: e.id):
        block = dataclasses.asdict(e)
        for name in ("shots", "takes"):
            if not block[name]:
                del block[name]
        blocks.append(block)
    expected = json.dumps({"lock_version": 1, "scenes": blocks}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert path.read_text(encoding="utf-8") == expected
    empty = tmp_path / "empty.lock"
    write_lock(empty, [])
    assert empty.read_text() == json.dumps({"lock_version": 1, "scenes": []}, indent=2) + "\n"
