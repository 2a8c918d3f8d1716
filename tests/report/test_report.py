"""`renderkit report` without a browser: what the page holds, --against a git ref, a lost blob, bad input, and
poster frames decoded once per blob."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from renderkit.cli import main
from renderkit.simulator import Simulator
from renderkit.store.cache import Cache
from renderkit.store.layout import CacheLayout
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, build, manifest_text
from tests.fixtures.project import Project
from tests.report.page import read_page

SCENES = [("harbor", "A quiet harbor at dawn"), ("market", "A fish market opening"), ("gulls", "Gulls over the pier")]


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def report(project: Project, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["report", str(project.path("renderkit.yaml")), *args])
    return code, capsys.readouterr().err


def git(project: Project, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project.root,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_page_shows_every_scene_with_its_render_and_request(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    code, err = report(project, capsys)
    assert code == 0, err
    index = project.path("renders/report/index.html")
    assert f"report written to {index}" in err
    page = read_page(index)
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert sorted(page.tiles) == ["tile-gulls", "tile-harbor", "tile-market"]
    for scene_id, prompt in SCENES:
        tile = page.tiles[f"tile-{scene_id}"]
        entry = lock.entries[scene_id]
        assert tile.videos == [f"../{scene_id}.mp4"]
        assert page.file(tile.videos[0]) == project.path(entry.file).resolve()
        for shown in (prompt, "sora-2", "1280x720", entry.key[:16], entry.task_id, "$0.40", "cached"):
            assert shown in tile.text
    # Nothing leaves the folder's neighbourhood: every URL is relative, and every file it names exists.
    assert page.urls
    for url in page.urls:
        if url.startswith("#"):
            continue
        assert "://" not in url
        assert not url.startswith("/")
        assert page.file(url).is_file(), url


def test_posters_are_decoded_once_per_blob_into_the_cache(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    assert report(project, capsys)[0] == 0
    index = project.path("renders/report/index.html")
    first = index.read_bytes()
    cached = sorted(CacheLayout(project.path(".renderkit")).posters.glob("*/*.jpg"))
    assert len(cached) == 3
    for poster in cached:
        with Image.open(poster) as image:
            assert (image.format, image.size) == ("JPEG", (480, 270))

    def no_decoding(path: Path, width: int) -> bytes:
        raise AssertionError(f"decoded {path} again")

    monkeypatch.setattr("renderkit.execute.video.poster", no_decoding)
    shutil.rmtree(project.path("renders/report"))
    assert report(project, capsys)[0] == 0
    assert index.read_bytes() == first
    assert len(list(project.path("renders/report/posters").iterdir())) == 3


def test_against_a_git_ref_marks_what_changed_and_says_when_the_old_render_is_gone(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    git(project, "init", "-q")
    git(project, "add", "renderkit.yaml", "renderkit.lock")
    git(project, "commit", "-q", "-m", "renders")
    old = read_lock(project.path("renderkit.lock"))
    assert old is not None
    edited = [(i, p + " in fog" if i == "market" else p) for i, p in SCENES]
    project.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    assert build(project, capsys)[0] == 0

    code, err = report(project, capsys, "--against", "git:HEAD")
    assert code == 0, err
    page = read_page(project.path("renders/report/index.html"))
    changed = {i for i, t in page.tiles.items() if t.classes & {"new", "changed", "removed"}}
    assert changed == {"tile-market"}
    assert "changed" in page.tiles["tile-market"].classes
    before, now = page.tiles["tile-market"].videos
    assert page.file(before).name == f"{old.entries['market'].sha256}.mp4"
    assert (
        page.file(before).read_bytes()
        == (project.root / ".renderkit" / "blobs")
        .joinpath(old.entries["market"].sha256[:2], old.entries["market"].sha256)
        .read_bytes()
    )
    assert now == "../market.mp4"
    assert "A fish market opening" in page.tiles["tile-market"].text  # the old prompt, from the cache record

    cache = Cache(CacheLayout(project.path(".renderkit")))
    cache.drop_blob(old.entries["market"].sha256)
    code, err = report(project, capsys, "--against", "git:HEAD")
    assert code == 0, err
    page = read_page(project.path("renders/report/index.html"))
    assert page.tiles["tile-market"].videos == ["../market.mp4"]
    assert "the cache no longer holds this render" in page.tiles["tile-market"].text
    assert not project.path("renders/report/media").exists() or not any(project.path("renders/report/media").iterdir())


@pytest.mark.parametrize("against", ["missing.lock", "git:no-such-ref"])
def test_a_bad_against_is_a_usage_error_and_writes_nothing(
    against: str, simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1])})
    git(project, "init", "-q")
    code, err = report(project, capsys, "--against", against, "--out", str(project.path("out")))
    assert code == 2
    assert f"renderkit: --against {against}: " in err
    assert project.files() == {"renderkit.yaml"} | {p for p in project.files() if p.startswith(".git/")}


def test_an_unbuilt_scene_says_so_instead_of_a_broken_video(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1])})
    code, err = report(project, capsys, "--out", str(project.path("review")))
    assert code == 0, err
    page = read_page(project.path("review/index.html"))
    assert page.tiles["tile-harbor"].videos == []
    assert "not rendered yet: render (new scene); run `renderkit build`" in page.tiles["tile-harbor"].text
    assert simulator.ledger()["requests"] == {}


def test_gc_drops_the_poster_frames_of_the_blobs_it_drops(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    assert report(project, capsys)[0] == 0
    old = read_lock(project.path("renderkit.lock"))
    assert old is not None
    edited = [(i, p + " at night" if i == "gulls" else p) for i, p in SCENES]
    project.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    assert build(project, capsys)[0] == 0
    posters = CacheLayout(project.path(".renderkit")).posters
    assert main(["gc", str(project.path("renderkit.yaml"))]) == 0
    assert "dropped 1 record(s) and 1 blob(s) and 1 poster frame(s)" in capsys.readouterr().err
    left = {p.name.split("-")[0] for p in posters.glob("*/*.jpg")}
    assert left == {old.entries["harbor"].sha256, old.entries["market"].sha256}
