"""Reconciling a create whose answer was lost: adopt the one task that can only be ours, or stop and ask.

On the executor's harness (a fake provider and a virtual clock, tests/execute/test_scheduler.py): a task is
ours only if it matches what the list shows of the request, no render holds it (the journal's, and every cached
render's, shots included), no other lost create looks the same, and no other task fits as well. The same rules
apply at start-up, to an intent a killed build journaled without its task id.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from renderkit.errors import ProviderError
from renderkit.execute.jobs import Job
from renderkit.execute.task import echo
from renderkit.providers.base import TaskState
from renderkit.request import Request
from renderkit.store import journal as journal_module
from renderkit.store.cache import Record
from renderkit.store.journal import Journal
from tests.execute.test_scheduler import SIZE, Answer, FakeProvider, Harness, job, listed, queued

LOST = ProviderError("connection lost after sending", maybe_sent=True)


class ListingProvider(FakeProvider):
    """A fake provider that also records the ``since`` of each list, and can fail it."""

    def __init__(
        self,
        creates: list[Answer],
        listed: list[TaskState] | None = None,
        list_error: ProviderError | None = None,
    ) -> None:
        super().__init__(creates, listed=listed)
        self.since: list[int] = []
        self.list_error = list_error

    async def list_tasks(self, since: int) -> list[TaskState]:
        self.since.append(since)
        if self.list_error is not None:
            self.calls.append("list")
            raise self.list_error
        return await super().list_tasks(since)


@pytest.fixture
def harness(tmp_path: Path) -> Callable[..., Harness]:
    return functools.partial(Harness, tmp_path)


def take(scene: str, take: str) -> Job:
    """A job whose key differs from ``job(scene)``'s by its take alone: the provider's list cannot tell them apart."""
    request = Request("openai", "sora-2", "a boat", SIZE, 1, take=take)
    return Job(scene, request.key, request, "p")


def journal_lost(h: Harness, *jobs: Job) -> None:
    """What a build killed between sending a create and journaling its answer leaves behind."""
    for j in jobs:
        h.journal.intent(j.key, j.scene_id, "p", echo(j))


def cached(h: Harness, task_id: str, shot_task: str | None = None) -> None:
    """A render of another key in the cache index (a storyboard's when ``shot_task`` is set)."""
    shots = ({"key": "shot-key", "task_id": shot_task, "sha256": "1" * 64},) if shot_task else ()
    h.cache.put(Record("other-key", {}, "openai", task_id, "0" * 64, 1, shots=shots))


# At start-up ----------------------------------------------------------------------------------------------------


def test_a_task_found_at_start_up_is_polled_and_never_created_again(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([], listed=[listed("t9", prompt="another prompt"), listed("t1")]))
    journal_lost(h, job())
    at = h.journal.entries[job().key].intent_at
    outcome = h.run(job())["a"]
    assert outcome.record is not None
    assert outcome.record.task_id == "t1"
    assert h.provider.calls == ["list", "download t1"], "found completed: downloaded, never created"
    assert [(e.scene, e.detail) for e in h.events if e.phase == "created"] == [("a", "recovered task t1")]
    assert isinstance(h.provider, ListingProvider)
    assert h.provider.since == [int(at) - 5], "the list reaches back to 5 s before the intent"


def test_at_start_up_nothing_in_the_list_means_the_create_never_arrived(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([queued("t2")], listed=[listed("t9", prompt="another prompt")]))
    journal_lost(h, job())
    outcome = h.run(job())["a"]
    assert outcome.record is not None
    assert outcome.record.task_id == "t2"
    assert h.provider.calls == ["list", "create", "poll t2", "download t2"]


def test_a_task_a_cached_render_holds_is_never_adopted(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([queued("t2")], listed=[listed("t1")]))
    journal_lost(h, job())
    cached(h, "t1")
    outcome = h.run(job())["a"]
    assert outcome.record is not None
    assert outcome.record.task_id == "t2", "t1 is another render's, so this create never arrived"
    assert "poll t1" not in h.provider.calls


def test_a_task_a_cached_storyboard_shot_holds_is_never_adopted(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([queued("t2")], listed=[listed("t1")]))
    journal_lost(h, job())
    cached(h, "t0", shot_task="t1")
    outcome = h.run(job())["a"]
    assert outcome.record is not None
    assert outcome.record.task_id == "t2"
    assert "poll t1" not in h.provider.calls


def test_lost_creates_that_look_alike_are_all_stopped(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([], listed=[listed("t1")]))
    a, b, c = take("a", "1"), take("b", "2"), take("c", "3")
    assert len({a.key, b.key, c.key}) == 3
    assert echo(a) == echo(b) == echo(c)
    journal_lost(h, a, b, c)
    outcomes = h.run(a, b, c)
    for scene, others in (("a", "b, c"), ("b", "a, c"), ("c", "a, b")):
        error = outcomes[scene].error or ""
        assert f"a create's answer was lost, and so was one for {others} with the same prompt" in error
        assert f"--force {scene}" in error
    assert h.provider.calls == ["list"] * 3, "none guessed, none paid"


def test_a_lost_create_unlike_the_others_is_recovered_beside_them(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([], listed=[listed("t1"), listed("t2", prompt="a gull")]))
    a, gull = job("a"), job("b", prompt="a gull")
    journal_lost(h, a, gull)
    outcomes = h.run(a, gull)
    assert outcomes["a"].record is not None
    assert outcomes["a"].record.task_id == "t1"
    assert outcomes["b"].record is not None
    assert outcomes["b"].record.task_id == "t2"
    assert "create" not in h.provider.calls


def test_several_matching_tasks_at_start_up_stop_the_scene(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([], listed=[listed("t2"), listed("t1")]))
    journal_lost(h, job())
    outcome = h.run(job())["a"]
    assert outcome.record is None
    assert "several tasks match it (t1, t2); rerun with --force a" in (outcome.error or "")
    assert h.provider.calls == ["list"]


def test_a_kind_without_a_list_route_stops_at_start_up_and_names_force(
    harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness(ListingProvider([], listed=[listed("t1")]))
    h.runtime.kind = "generations"
    with monkeypatch.context() as m:
        m.setattr(journal_module, "time", SimpleNamespace(time=lambda: 1_700_000_000.0))  # a build killed in 2023
        journal_lost(h, job())
    outcome = h.run(job())["a"]
    assert outcome.record is None
    error = outcome.error or ""
    assert "a create for this scene was sent at 2023-11-14 22:13:20 UTC but its answer was lost" in error
    assert "its answer was lost, and provider kind 'generations' cannot list tasks to find it" in error
    assert "rerun with --force a to pay for a new render" in error
    assert h.provider.calls == []


def test_a_list_that_fails_stops_the_scene_without_a_create(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([], list_error=ProviderError("bad gateway", status=502, retryable=True)))
    journal_lost(h, job())
    outcome = h.run(job())["a"]
    assert outcome.record is None
    assert "listing tasks to find it failed (bad gateway)" in (outcome.error or "")
    assert h.provider.calls == ["list"]


def test_forcing_a_scene_with_a_lost_create_pays_for_a_new_one(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([queued("t2")], listed=[listed("t1")]))
    journal_lost(h, job())
    outcome = h.run(job(), force=["a"])["a"]
    assert outcome.record is not None
    assert outcome.record.task_id == "t2"
    assert "list" not in h.provider.calls


# After a create's answer is lost in this build ------------------------------------------------------------------


@pytest.mark.parametrize(
    "differs", [{"prompt": "a gull"}, {"model": "sora-2-pro"}, {"size": "96x160"}, {"seconds": 2}, {"seconds": "2"}]
)
def test_a_task_that_differs_in_what_the_list_shows_is_not_ours(
    harness: Callable[..., Harness], differs: dict[str, Any]
) -> None:
    other = TaskState("t1", "completed", extra={**listed("t1").extra, **differs})
    h = harness(ListingProvider([LOST], listed=[other]))
    outcome = h.run(job())["a"]
    assert outcome.record is None
    assert "its answer was lost" in (outcome.error or "")
    assert h.provider.calls == ["create", "list"]


@pytest.mark.parametrize("shown", [{}, {"seconds": "1"}, {"prompt": "a boat", "size": SIZE}])
def test_a_task_whose_list_entry_shows_less_still_matches_on_what_it_shows(
    harness: Callable[..., Harness], shown: dict[str, Any]
) -> None:
    h = harness(ListingProvider([LOST], listed=[TaskState("t1", "completed", extra=shown)]))
    before = time.time()
    outcome = h.run(job())["a"]
    after = time.time()
    assert outcome.record is not None
    assert outcome.record.task_id == "t1"
    assert h.provider.calls.count("create") == 1
    assert isinstance(h.provider, ListingProvider)
    (since,) = h.provider.since
    assert int(before) - 5 <= since <= int(after) - 5, "the list reaches back to 5 s before the lost create"


def test_after_a_lost_answer_a_task_a_cached_render_holds_is_never_adopted(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([LOST], listed=[listed("t1")]))
    cached(h, "t1")
    outcome = h.run(job())["a"]
    assert outcome.record is None
    assert "renderkit will not send it again blindly" in (outcome.error or "")
    assert h.provider.calls == ["create", "list"]


@pytest.mark.parametrize("at_start_up", [False, True])
def test_a_lost_remix_is_matched_by_its_source_not_by_a_look_alike_of_another_video(
    harness: Callable[..., Harness], at_start_up: bool
) -> None:
    request = Request("openai", "sora-2", "a boat", SIZE, 1, link="remix_of", upstream_key="source-key")
    remix = Job("r", request.key, request, "p", upstream="src")
    ours = TaskState("t1", "completed", extra={**listed("t1").extra, "remixed_from_video_id": "t-src"})
    other = TaskState("t2", "completed", extra={**listed("t2").extra, "remixed_from_video_id": "t-other"})
    h = harness(ListingProvider([] if at_start_up else [LOST], listed=[other, ours]))
    if at_start_up:
        journal_lost(h, remix)
    outcome = h.run(remix, known={"src": "t-src"})["r"]
    assert outcome.record is not None, outcome.error
    assert outcome.record.task_id == "t1", "t2 looks the same in the list but remixes another video"
    assert h.provider.calls == ([] if at_start_up else ["create"]) + ["list", "download t1"]


def test_a_recovered_task_is_journaled_before_it_is_polled(harness: Callable[..., Harness]) -> None:
    h = harness(ListingProvider([LOST], listed=[TaskState("t1", "queued", extra=listed("t1").extra)]))
    h.provider.polls.append(ProviderError("the gateway crashed", status=400))
    outcome = h.run(job())["a"]
    assert "polling task t1 failed" in (outcome.error or "")
    entry = Journal(h.cache.layout.journal).entries[job().key]
    assert (entry.state, entry.task_id) == ("task", "t1"), "a rerun resumes t1 instead of listing or paying again"
