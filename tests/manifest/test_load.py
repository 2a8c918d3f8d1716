"""load_manifest on good input: resolution of defaults, providers, remixes, storyboards and images."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderkit.errors import ManifestError
from renderkit.manifest.load import load_manifest
from renderkit.ops.connect import server_of
from renderkit.request import ImageRef, Shot
from tests.fixtures.project import Project
from tests.manifest.conftest import PNG, flat_scenes


def test_minimal_manifest_uses_the_embedded_simulator_and_catalog_defaults(project: Project) -> None:
    project.gen({"renderkit.yaml": "version: 1\nscenes:\n  - id: a\n    prompt: '  a boat  '\n"})
    m = load_manifest(project.path("renderkit.yaml"))
    (scene,) = flat_scenes(m)
    assert (scene.id, scene.prompt, scene.model, scene.size, scene.seconds) == ("a", "a boat", "sora-2", "720x1280", 4)
    assert scene.provider == "simulator"
    assert scene.line == 3
    assert m.providers["simulator"].kind == "simulator"
    assert m.providers["simulator"].base_url is None
    assert m.output_dir == project.root / "renders"
    assert m.root == project.root
    assert m.budget is None
    assert m.warnings == ()


def test_defaults_apply_unless_the_scene_overrides(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
providers:
  gw: {kind: generations, rpm: 10, max_in_flight: 2}
  oa: {kind: openai, base_url: "http://127.0.0.1:9", api_key_env: MY_KEY, poll_interval: 2, timeout: 60}
defaults: {provider: gw, model: sora-2-pro, size: 1792x1024, seconds: 8, take: 3}
budget: 12
output_dir: out/videos
scenes:
  - {id: a, prompt: x}
  - {id: b, prompt: y, provider: oa, size: 1280x720, seconds: 12, take: director}
"""
        }
    )
    m = load_manifest(project.path("renderkit.yaml"))
    a, b = flat_scenes(m)
    assert (a.provider, a.model, a.size, a.seconds, a.take) == ("gw", "sora-2-pro", "1792x1024", 8, "3")
    assert (b.provider, b.size, b.seconds, b.take) == ("oa", "1280x720", 12, "director")
    gw, oa = m.providers["gw"], m.providers["oa"]
    assert (gw.base_url, gw.api_key_env, gw.rpm, gw.max_in_flight) == (None, "CRAZYROUTER_API_KEY", 10.0, 2)
    assert server_of(gw, {}) == "https://api.crazyrouter.com", "an unset base_url is the kind's default"
    assert (oa.base_url, oa.api_key_env, oa.poll_interval, oa.timeout) == ("http://127.0.0.1:9", "MY_KEY", 2.0, 60.0)
    assert m.budget == 12.0
    assert m.output_dir == project.root / "out" / "videos"


def test_remix_inherits_model_size_seconds_and_provider_from_its_source(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
defaults: {size: 720x1280}
scenes:
  - {id: night, remix_of: day, prompt: make it night}
  - {id: day, prompt: a city, model: sora-2-pro, size: 1024x1792, seconds: 12}
"""
        }
    )
    night, _ = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert (night.remix_of, night.model, night.size, night.seconds) == ("day", "sora-2-pro", "1024x1792", 12)


def test_storyboard_sums_seconds_and_joins_prompts(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
scenes:
  - id: board
    size: 1280x720
    storyboard:
      - {prompt: Wide shot of a forest, seconds: 3}
      - {prompt: A deer walks in, seconds: 5}
"""
        }
    )
    (scene,) = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert scene.seconds == 8
    assert scene.storyboard == (Shot("Wide shot of a forest", 3), Shot("A deer walks in", 5))
    assert scene.prompt == "Wide shot of a forest\nA deer walks in"


def test_image_file_is_hashed_by_content_and_urls_are_kept(project: Project) -> None:
    import hashlib

    project.gen(
        {
            "img/ref.png": PNG,
            "renderkit.yaml": """version: 1
scenes:
  - {id: a, prompt: x, image: img/ref.png}
  - {id: b, prompt: y, image: "https://example.com/ref.png"}
""",
        }
    )
    a, b = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert a.image == ImageRef(project.root / "img" / "ref.png", None, hashlib.sha256(PNG).hexdigest())
    assert b.image == ImageRef(None, "https://example.com/ref.png", None)


def test_unknown_model_is_a_warning_not_an_error(project: Project) -> None:
    project.gen(
        {"renderkit.yaml": "version: 1\nscenes:\n  - {id: a, prompt: x, model: kling-9, size: 1x1, seconds: 7}\n"}
    )
    m = load_manifest(project.path("renderkit.yaml"))
    (warning,) = m.warnings
    assert (warning.line, warning.col, warning.path, warning.severity) == (3, 31, "scenes[0].model", "warning")
    assert "kling-9" in warning.message
    assert flat_scenes(m)[0].seconds == 7


def test_merge_keys_and_anchors_are_supported(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
x-common: &common {size: 1280x720, seconds: 8}
scenes:
  - {<<: *common, id: a, prompt: x}
  - {<<: *common, id: b, prompt: y, seconds: 4}
"""
        }
    )
    with pytest.raises(ManifestError, match=r"unknown field 'x-common'"):
        load_manifest(project.path("renderkit.yaml"))
    text = project.path("renderkit.yaml").read_text().replace("x-common: &common", "defaults: &common")
    project.gen({"renderkit.yaml": text})
    a, b = flat_scenes(load_manifest(Path(project.path("renderkit.yaml"))))
    assert (a.size, a.seconds, b.seconds) == ("1280x720", 8, 4)


def test_defaults_can_hold_prompt_storyboard_and_remix_of(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
defaults:
  prompt: A lighthouse in fog
  remix_of: base
  size: 1280x720
scenes:
  - {id: base}
  - {id: wide, take: 2}
  - {id: dusk, prompt: The same at dusk}
  - id: board
    storyboard: [{prompt: Fog rolls in, seconds: 4}]
"""
        }
    )
    base, wide, dusk, board = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert (base.prompt, base.remix_of) == ("A lighthouse in fog", None)
    assert (wide.prompt, wide.remix_of, wide.take) == ("A lighthouse in fog", "base", "2")
    assert (dusk.prompt, dusk.remix_of) == ("The same at dusk", "base")
    assert (board.storyboard, board.remix_of) == ((Shot("Fog rolls in", 4),), None)


def test_a_default_continue_from_skips_its_upstream_and_scenes_with_an_image_or_upstream(project: Project) -> None:
    project.gen(
        {
            "ok.png": PNG,
            "renderkit.yaml": """version: 1
defaults:
  continue_from: intro
  image: ok.png
scenes:
  - {id: intro, prompt: A harbour}
  - {id: boats, prompt: Boats leave}
  - {id: still, prompt: A still, image: ok.png}
  - {id: night, prompt: Night, remix_of: intro}
""",
        }
    )
    intro, boats, still, night = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert (intro.continue_from, intro.image is not None) == (None, True)
    assert (boats.continue_from, boats.image) == ("intro", None)
    assert (still.continue_from, still.image is not None) == (None, True)
    assert (night.continue_from, night.remix_of) == (None, "intro")


def test_an_extension_lasts_its_source_plus_its_seconds(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
defaults: {size: 1280x720}
scenes:
  - {id: a, prompt: A harbour, seconds: 8}
  - {id: b, extend_of: a, prompt: Boats leave, seconds: 4}
  - {id: c, extend_of: b, prompt: Open sea, seconds: 12}
  - {id: d, remix_of: c, prompt: At night}
"""
        }
    )
    a, b, c, d = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert [(s.seconds, s.duration) for s in (a, b, c, d)] == [(8, 8), (4, 12), (12, 24), (12, 24)]
    assert (c.size, c.model, d.size) == ("1280x720", "sora-2", "1280x720")


def test_a_default_storyboard_applies_to_scenes_that_are_not_remixes(project: Project) -> None:
    project.gen(
        {
            "renderkit.yaml": """version: 1
defaults:
  storyboard: [{prompt: Wide, seconds: 4}, {prompt: Close, seconds: 4}]
scenes:
  - {id: a, size: 1280x720}
  - {id: b, size: 720x1280}
"""
        }
    )
    a, b = flat_scenes(load_manifest(project.path("renderkit.yaml")))
    assert a.storyboard == b.storyboard == (Shot("Wide", 4), Shot("Close", 4))
    assert (a.seconds, a.prompt) == (8, "Wide\nClose")
