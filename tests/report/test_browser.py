"""The report in a real browser: Debian's headless Chromium driven by Playwright, opened from a file:// URL.

One browser serves the module. Chromium must be installed; without it these tests fail. `.ci/run` installs it
beside the rest of the suite and names, in CHROMIUM_INSTALL_DONE, the file it writes when the install has ended:
these tests wait for that file rather than hold the whole suite back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from renderkit.cli import main
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, manifest_text
from tests.fixtures.project import Project
from tests.fixtures.waiting import poll

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_WAIT = 240  # seconds an install started by .ci/run may still take (apt-get update and install)
pytestmark = pytest.mark.timeout(INSTALL_WAIT + 120)
# As root Chromium needs --no-sandbox; the rest keep it from reaching for a network this machine does not have.
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
# Every <video> has reached its first frame (HAVE_CURRENT_DATA), polled by the page until the deadline.
ALL_VIDEOS_SHOWN = "() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2 && !v.error)"

MANIFEST = """version: 1
providers:
  sim: {{kind: simulator, base_url: '{url}', api_key_env: SIM_API_KEY, poll_interval: 0.05}}
  shots: {{kind: unified, base_url: '{url}', api_key_env: SIM_API_KEY, poll_interval: 0.05}}
defaults:
  provider: sim
  model: sora-2
  size: 1280x720
  seconds: 4
scenes:
  - id: opening
    storyboard:
      - {{prompt: Wide shot of a forest at dawn, seconds: 4}}
      - {{prompt: A deer walks into frame, seconds: 4}}
  - id: montage
    provider: shots
    storyboard:
      - {{prompt: A kettle on a stove, seconds: 4}}
      - {{prompt: Steam rises from the spout, seconds: 4}}
  - id: departure
    prompt: A paper boat sets off down a rain-filled gutter
  - id: rapids
    continue_from: departure
    prompt: The boat rushes between cobblestones
  - id: pond
    extend_of: rapids
    prompt: The boat glides out onto a calm pond
  - id: hero
    prompt: A red kite climbs over a windy beach
    takes: 3
    pick: 2
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the whole module."""
    done = os.environ.get("CHROMIUM_INSTALL_DONE")
    if not CHROMIUM.is_file() and done:
        poll(lambda: Path(done).exists(), bool, timeout=INSTALL_WAIT, what=f"the Chromium install ({done})")
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM}; `.ci/run` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def off_loop(work: Callable[[], T]) -> T:
    """Run ``work`` on a thread of its own: Playwright's sync API keeps an event loop running on this one, and a
    build runs its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result(timeout=120)


def open_report(browser: Browser, index: Path) -> tuple[Page, list[str]]:
    """The report opened from disk, every video at its first frame; and the URL of every request it made."""
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(index.as_uri())
    page.wait_for_function(ALL_VIDEOS_SHOWN, timeout=30_000)
    return page, requests


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id"))


def test_report_plays_every_render_offline_with_keyboard_navigation(
    browser: Browser, simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project.gen({"renderkit.yaml": MANIFEST.format(url=simulator.base_url)})
    code, _, err = off_loop(lambda: build(project, capsys))
    assert code == 0, err
    assert main(["report", str(project.path("renderkit.yaml"))]) == 0
    page, requests = open_report(browser, project.path("renders/report/index.html"))

    tiles = page.eval_on_selector_all(".tile", "ts => ts.map(t => t.id)")
    assert len(tiles) == 6 + 2  # every scene, and the two takes that are not picked
    videos = page.eval_on_selector_all("video", "vs => vs.map(v => [v.readyState, v.videoWidth])")
    assert len(videos) == len(tiles)
    assert all(state >= 2 and width == 1280 for state, width in videos)
    assert requests
    assert all(url.startswith("file://") for url in requests), requests

    # Takes side by side, the pick marked; a chain upstream first and linked; storyboards shot by shot.
    assert page.eval_on_selector_all("#scene-hero .tile", "ts => ts.map(t => t.id)") == [
        "tile-hero@take1",
        "tile-hero",
        "tile-hero@take3",
    ]
    assert page.eval_on_selector_all(".tile.picked", "ts => ts.map(t => t.id)") == ["tile-hero"]
    chain = [t for t in tiles if t in ("tile-departure", "tile-rapids", "tile-pond")]
    assert chain == ["tile-departure", "tile-rapids", "tile-pond"]
    assert page.locator("#tile-rapids a[href='#tile-departure']").count() == 1
    assert page.locator("#tile-pond a[href='#tile-rapids']").count() == 1
    thumbs = page.eval_on_selector_all("#tile-montage ol.shots img", "is => is.map(i => [i.alt, i.naturalWidth])")
    assert thumbs == [["A kettle on a stove", 240], ["Steam rises from the spout", 240]]
    assert "A deer walks into frame" in page.inner_text("#tile-opening ol.shots")
    labels = page.eval_on_selector_all("video", "vs => vs.map(v => v.getAttribute('aria-label'))")
    assert all(labels)
    assert "A red kite climbs over a windy beach" in labels

    # Keyboard: j and the arrows move focus from tile to tile, k goes back, space plays the focused tile's video.
    page.keyboard.press("j")
    assert focused(page) == tiles[0]
    page.keyboard.press("j")
    page.keyboard.press("ArrowRight")
    assert focused(page) == tiles[2]
    page.keyboard.press("k")
    assert focused(page) == tiles[1]
    page.keyboard.press(" ")
    page.wait_for_function("() => !document.activeElement.querySelector('video').paused", timeout=10_000)
    page.keyboard.press(" ")
    page.wait_for_function("() => document.activeElement.querySelector('video').paused", timeout=10_000)

    page.keyboard.press("Home")
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    with Image.open(shot) as image:
        assert (image.format, image.size) == ("PNG", (VIEWPORT["width"], VIEWPORT["height"]))
        colours = image.convert("RGB").getcolors(1 << 20)
        assert colours is None or len(colours) > 100  # a rendered page, not one flat colour
    print(f"report screenshot: {shot}")  # noqa: T201  # for a human to look at (pytest -s)
    page.close()


def test_report_against_an_older_lock_marks_new_changed_and_removed_scenes(
    browser: Browser, simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    scenes = [("keep", "A quiet harbor"), ("edit", "A fish market"), ("drop", "A lighthouse")]
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes)})
    assert off_loop(lambda: build(project, capsys))[0] == 0
    shutil.copy(project.path("renderkit.lock"), project.path("old.lock"))
    edited = [("keep", "A quiet harbor"), ("edit", "A fish market in fog"), ("fresh", "A ferry leaves")]
    project.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    assert off_loop(lambda: build(project, capsys))[0] == 0
    assert main(["report", str(project.path("renderkit.yaml")), "--against", str(project.path("old.lock"))]) == 0
    page, requests = open_report(browser, project.path("renders/report/index.html"))

    def marked(change: str) -> list[str]:
        return list(page.eval_on_selector_all(f".tile.{change}", "ts => ts.map(t => t.id)"))

    assert (marked("changed"), marked("new"), marked("removed")) == (["tile-edit"], ["tile-fresh"], ["tile-drop"])
    # The changed scene shows the old render and the new one side by side, both playable.
    assert page.eval_on_selector_all("#tile-edit .compare figcaption", "fs => fs.map(f => f.textContent)") == [
        "before",
        "now",
    ]
    assert page.locator("#tile-edit video").count() == 2
    assert page.locator("#tile-drop video").count() == 1
    assert page.locator("#tile-keep video").count() == 1
    assert "1 new, 1 changed, 1 removed, 1 unchanged" in page.inner_text("header")
    assert all(url.startswith("file://") for url in requests), requests
    page.close()
