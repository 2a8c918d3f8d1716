"""verify, gc, --shard, corrupt blobs and concurrent builds."""

from __future__ import annotations

import json
import threading

import pytest
from filelock import FileLock

from renderkit.cli import main
from renderkit.execute.events import Event
from renderkit.ops.build import Build, BuildOptions
from renderkit.simulator import Simulator
from renderkit.store.cache import Cache
from renderkit.store.layout import CacheLayout
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


@pytest.fixture
def built(simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]) -> Project:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    code, _, err = build(project, capsys)
    assert code == 0, err
    return project


def test_verify_passes_then_finds_a_changed_file(built: Project, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(built.path("renderkit.yaml"))
    assert main(["verify", manifest]) == 0
    assert "3 file(s), 0 mismatch(es)" in capsys.readouterr().err
    data = bytearray(built.path("renders/skyline.mp4").read_bytes())
    data[len(data) // 2] ^= 0xFF
    built.path("renders/skyline.mp4").write_bytes(bytes(data))
    built.path("renders/outro.mp4").unlink()
    assert main(["verify", manifest]) == 1
    err = capsys.readouterr().err
    assert "MISMATCH renders/skyline.mp4: sha256" in err
    assert "MISMATCH renders/outro.mp4: missing" in err


def test_verify_without_a_lock_is_a_usage_error(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.gen({"renderkit.yaml": "version: 1\nscenes: []\n"})
    assert main(["verify", str(project.path("renderkit.yaml"))]) == 2
    assert "no lockfile" in capsys.readouterr().err


def test_gc_drops_what_no_lock_references(
    built: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    old = read_lock(built.path("renderkit.lock"))
    assert old is not None
    built.gen({"renderkit.yaml": manifest_text(simulator, [*SCENES[:2], ("outro", "New credits")])})
    assert build(built, capsys)[0] == 0
    cache = Cache(CacheLayout(built.path(".renderkit")))
    stale = old.entries["outro"]
    assert cache.get(stale.key) is not None
    cache.close()
    assert main(["gc", str(built.path("renderkit.yaml"))]) == 0
    err = capsys.readouterr().err
    assert f"dropped 1 record(s) and 1 blob(s) from {built.path('.renderkit')}, {stale.bytes} bytes" in err
    cache = Cache(CacheLayout(built.path(".renderkit")))
    assert cache.get(stale.key) is None
    assert not cache.blob_path(stale.sha256).exists()
    assert cache.get(old.entries["intro"].key) is not None
    cache.close()
    before = simulator.ledger()["requests"]
    code, report, _ = build(built, capsys)
    assert code == 0
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["requests"] == before


def test_shards_split_the_work_and_together_cover_it(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = [(f"s{i}", f"prompt {i}") for i in range(8)] + [(f"t{i}", f"prompt {i}") for i in range(8)]
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes)})
    code, first, _ = build(project, capsys, "--shard", "1/2")
    assert code == 0
    one = {s for s, v in statuses(first).items() if v == "rendered"}
    code, second, _ = build(project, capsys, "--shard", "2/2")
    assert code == 0
    two = {s for s, v in statuses(second).items() if v == "rendered"}
    assert one
    assert two
    assert not one & two
    assert one | two == {s for s, _ in scenes}
    assert all((f"s{i}" in one) == (f"t{i}" in one) for i in range(8)), "one request, one shard"
    assert simulator.ledger()["creates"] == 8
    assert not project.path("renderkit.lock").exists(), "shards leave the lock to the build that assembles them"
    code, report, _ = build(project, capsys)
    assert code == 0
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["creates"] == 8
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert len(lock.entries) == 16


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x", "1/0"])
def test_bad_shard_is_a_usage_error(project: Project, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    project.gen({"renderkit.yaml": "version: 1\nscenes: []\n"})
    assert main(["build", str(project.path("renderkit.yaml")), "--shard", bad]) == 2
    assert "--shard" in capsys.readouterr().err


def test_corrupt_blob_is_reported_not_silently_rebought(
    built: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = read_lock(built.path("renderkit.lock"))
    assert lock is not None
    entry = lock.entries["intro"]
    cache = Cache(CacheLayout(built.path(".renderkit")))
    blob = cache.blob_path(entry.sha256)
    cache.close()
    blob.write_bytes(b"x" * entry.bytes)  # same size: only a re-hash can tell
    built.path("renders/intro.mp4").unlink()
    code, report, err = build(built, capsys)
    assert code == 1
    assert statuses(report)["intro"] == "failed"
    assert "corrupt" in err
    assert simulator.ledger()["creates"] == 3
    assert main(["plan", str(built.path("renderkit.yaml")), "--json"]) == 0
    planned = {s["id"]: s["status"] for s in json.loads(capsys.readouterr().out)["scenes"]}
    assert planned == {"intro": "render", "skyline": "cached", "outro": "cached"}, "the corrupt blob is dropped"


def test_a_build_waits_for_the_cache_and_gives_up_after_wait(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    project.path(".renderkit").mkdir()
    with FileLock(str(project.path(".renderkit/build.lock"))):
        code, report, err = build(project, capsys, "--wait", "0")
    assert code == 4
    assert report is not None
    assert (report["exit_code"], report["error"]["type"]) == (4, "BusyError")
    assert "--wait" in err
    assert "nothing was sent" in err
    assert simulator.ledger()["requests"] == {}


def test_a_build_that_waited_sees_the_other_builds_renders_as_cached(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two builds of one project: the second plans only once it holds the lock, so it pays for nothing."""
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    manifest = project.path("renderkit.yaml")
    first = threading.Event()
    results: list[int] = []

    def on_event(event: Event) -> None:
        if event.phase == "creating":
            first.set()

    def other_build() -> None:
        first.wait(30)
        # Started while the first build renders: it must wait for the lock, then find everything cached.
        results.append(main(["build", str(manifest), "--json"]))

    thread = threading.Thread(target=other_build)
    thread.start()
    try:
        report = Build(manifest, BuildOptions(), on_event, {"SIM_API_KEY": KEY}).run()
    finally:
        thread.join(60)
    assert not report.failed
    assert results == [0]
    assert simulator.ledger()["creates"] == 3
