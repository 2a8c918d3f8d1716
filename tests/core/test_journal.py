"""The journal: durable intents and task ids, replayed after a crash."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from renderkit.errors import StorageError
from renderkit.store.journal import Journal


def test_replay_folds_to_the_latest_state(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "intro", "sim")
    j.task("k1", "video_1")
    j.intent("k2", "outro", "sim")
    j.close()
    again = Journal(path)
    assert again.entries["k1"].state == "task"
    assert again.entries["k1"].task_id == "video_1"
    assert again.entries["k2"].state == "intent"
    assert again.entries["k2"].task_id is None


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "intro", "sim")
    j.close()
    with path.open("ab") as fh:
        fh.write(b'{"key": "k1", "state": "ta')
    again = Journal(path)
    assert again.entries["k1"].state == "intent"


def test_a_record_written_after_a_torn_line_is_not_swallowed_by_it(tmp_path: Path) -> None:
    """The next build's intent must survive a crash too: without it, a lost create answer would be paid again."""
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"key": "k1", "scene": "intro", "provider": "sim", "state": "int')
    j = Journal(path)
    j.intent("k2", "outro", "sim")
    j.task("k2", "video_2")
    j.close()
    again = Journal(path)
    assert set(again.entries) == {"k2"}
    assert (again.entries["k2"].scene, again.entries["k2"].task_id) == ("outro", "video_2")


def test_a_task_whose_intent_line_was_lost_still_resumes_by_its_task_id(tmp_path: Path) -> None:
    """A journal from before the fix above: the intent ran into a torn line, the task id after it is what was paid."""
    path = tmp_path / "journal.jsonl"
    torn = b'{"key": "k1", "state": "int{"key": "k2", "scene": "outro", "provider": "sim", "state": "intent"}\n'
    path.write_bytes(torn + b'{"key": "k2", "state": "task", "task_id": "video_2"}\n')
    entry = Journal(path).entries["k2"]
    assert (entry.state, entry.task_id) == ("task", "video_2")


def test_the_journal_keeps_one_record_a_line_through_reopening_and_compacting(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"key": "k0", "state": "int')
    j = Journal(path)
    j.intent("k1", "a", "sim")
    j.close()
    j.intent("k2", "b", "sim")  # opened again: the torn line is behind it already
    j.close()
    assert b"\n\n" not in path.read_bytes()
    j.compact()
    j.task("k2", "video_2")
    j.close()
    fresh = Journal(tmp_path / "fresh.jsonl")
    fresh.intent("k3", "c", "sim")
    fresh.close()
    (tmp_path / "compacted.jsonl").write_bytes(
        b'{"key": "k4", "scene": "d", "provider": "sim", "state": "intent"}\n{"k'
    )
    compacted = Journal(tmp_path / "compacted.jsonl")
    compacted.compact()  # rewritten whole: nothing torn is left to step over
    compacted.task("k4", "video_4")
    compacted.close()
    for name in ("journal.jsonl", "fresh.jsonl", "compacted.jsonl"):
        data = (tmp_path / name).read_bytes()
        assert not data.startswith(b"\n")
        assert b"\n\n" not in data
    assert sorted(Journal(path).entries) == ["k1", "k2"]


def test_done_forgets_and_compact_keeps_only_unfinished(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "a", "sim")
    j.task("k1", "t1")
    j.done("k1")
    j.intent("k2", "b", "sim")
    j.task("k2", "t2")
    j.failed("k2", "content_policy_violation: blocked")
    j.compact()
    again = Journal(path)
    assert set(again.entries) == {"k2"}
    assert again.entries["k2"].state == "failed"
    assert again.entries["k2"].task_id == "t2"
    assert again.entries["k2"].error == "content_policy_violation: blocked"
    assert [json.loads(line)["state"] for line in path.read_text().splitlines()] == ["intent", "task", "failed"]


def test_compact_of_an_empty_journal_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "a", "sim")
    j.done("k1")
    j.compact()
    assert not path.exists()


def test_a_finished_task_replays_as_completed(tmp_path: Path) -> None:
    """A build killed mid-download keeps the partial file of a completed task (and only then) to resume it."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "intro", "sim")
    j.task("k1", "video_1")
    j.completed("k1")
    j.close()
    assert Journal(path).entries["k1"].state == "completed"


def test_a_new_intent_after_a_failure_forgets_the_failed_task(tmp_path: Path) -> None:
    """The next build asks again: a crash then must reconcile the new create, not poll the failed task."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "intro", "sim")
    j.task("k1", "video_1")
    j.failed("k1", "server_error")
    j.intent("k1", "intro", "sim")
    j.close()
    entry = Journal(path).entries["k1"]
    assert (entry.state, entry.task_id, entry.error) == ("intent", None, None)


def test_a_line_of_an_unknown_state_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "intro", "sim")
    j.close()
    with path.open("ab") as fh:
        fh.write(b'{"key": "k1", "state": "paused"}\n{"key": "k2", "state": "paused"}\n')
    again = Journal(path)
    assert set(again.entries) == {"k1"}
    assert again.entries["k1"].state == "intent"


def test_a_render_marked_done_twice_is_forgotten_once(tmp_path: Path) -> None:
    """Two scenes with the same request finish one render: each marks it done."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "a", "sim")
    j.done("k1")
    j.done("k1")
    j.close()
    assert Journal(path).entries == {}


def test_compact_writes_the_unfinished_keys_in_order_and_later_writes_land(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k2", "b", "sim")
    j.intent("k1", "a", "sim")
    j.compact()
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k1", "k2"]
    j.task("k1", "video_1")  # compact replaced the file: the next write must go to the new one
    j.close()
    assert Journal(path).entries["k1"].task_id == "video_1"


def test_compact_of_a_journal_never_written_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    Journal(path).compact()
    assert not path.exists()


def test_the_journal_makes_its_folders_and_a_file_only_its_owner_may_write(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "state" / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "a", "sim")
    j.close()
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert Journal(path).entries["k1"].state == "intent"


def test_closing_the_journal_releases_its_file(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    j = Journal(tmp_path / "journal.jsonl")
    j.intent("k1", "a", "sim")
    j.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_journal_that_cannot_be_read_says_why_and_sends_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.mkdir()
    with pytest.raises(
        StorageError, match=r"cannot read the journal .*journal\.jsonl: Is a directory; nothing was sent"
    ):
        Journal(path)


def test_compact_keeps_every_fact_of_an_intent_and_invents_none_for_a_lost_one(tmp_path: Path) -> None:
    # The compacted journal is what a person reads after a crash, and what the next build replays.
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "intro", "gateway", echo="a harbor|sora-2|1280x720|4")
    j.task("k1", "video_1")
    j.close()
    at = json.loads(path.read_text().splitlines()[0])["at"]
    with path.open("a") as fh:  # a task whose intent line was lost (a hand-edited or partly restored journal)
        fh.write(json.dumps({"key": "k2", "state": "task", "task_id": "video_2"}) + "\n")
    again = Journal(path)
    again.compact()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"key": "k1", "scene": "intro", "provider": "gateway", "state": "intent", "at": at,
         "echo": "a harbor|sora-2|1280x720|4"},
        {"key": "k1", "state": "task", "task_id": "video_1"},
        {"key": "k2", "scene": "", "provider": "", "state": "intent", "at": 0.0, "echo": ""},
        {"key": "k2", "state": "task", "task_id": "video_2"},
    ]  # fmt: skip
    assert at > 0
    assert Journal(path).entries == again.entries


def test_an_empty_journal_file_is_not_taken_for_a_torn_one(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")  # created, then the run was killed before its first record
    j = Journal(path)
    j.intent("k1", "intro", "sim")
    j.close()
    assert path.read_bytes().count(b"\n") == 1
    assert json.loads(path.read_bytes())["key"] == "k1"
