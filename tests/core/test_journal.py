"""The journal: durable intents and task ids, replayed after a crash."""

from __future__ import annotations

from pathlib import Path

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


def test_compact_of_an_empty_journal_removes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.intent("k1", "a", "sim")
    j.done("k1")
    j.compact()
    assert not path.exists()
