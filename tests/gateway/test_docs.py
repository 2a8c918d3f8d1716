"""The gateway as its own docs describe it: every example in shared/seeds, written as a manifest, validates,
builds against a stand-in written from those docs, and reaches the wire with every field the docs show."""

from __future__ import annotations

import json
from typing import Any

import pytest

from renderkit.cli import main
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import build, statuses
from tests.fixtures.gateway import Gateway
from tests.fixtures.project import Project

KEY = "sk-gateway-test-key-0123456789"

# Each docs example: its route family, the request body the docs show, and the scene that asks for it.
DOCS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "create": (
        "openai",
        "POST /v1/videos",
        {
            "model": "sora-2",
            "prompt": "A timelapse of a city skyline from day to night, clouds moving quickly",
            "size": "1920x1080",
            "duration": 10,
        },
        "prompt: A timelapse of a city skyline from day to night, clouds moving quickly\n"
        "    size: 1920x1080\n    duration: 10",
    ),
    "edit": (
        "openai",
        "POST /v1/videos",
        {
            "model": "sora-2",
            "prompt": "The scene comes to life with gentle movement",
            "image_url": "https://example.com/scene.jpg",
            "size": "1920x1080",
            "duration": 5,
        },
        "prompt: The scene comes to life with gentle movement\n    image: https://example.com/scene.jpg\n"
        "    size: 1920x1080\n    duration: 5",
    ),
    "storyboard": (
        "openai",
        "POST /v1/videos",
        {
            "model": "sora-2",
            "storyboard": [
                {"prompt": "Wide shot of a forest at dawn", "duration": 3},
                {"prompt": "A deer walks into frame", "duration": 4},
                {"prompt": "Close-up of the deer looking at camera", "duration": 3},
            ],
            "size": "1920x1080",
        },
        "storyboard:\n      - {prompt: Wide shot of a forest at dawn, duration: 3}\n"
        "      - {prompt: A deer walks into frame, duration: 4}\n"
        "      - {prompt: Close-up of the deer looking at camera, duration: 3}\n    size: 1920x1080",
    ),
    "private": (
        "openai",
        "POST /v1/videos",
        {"model": "sora-2", "prompt": "A confidential product demo video", "size": "1920x1080", "private": True},
        "prompt: A confidential product demo video\n    size: 1920x1080\n    private: true",
    ),
    "generations": (
        "generations",
        "POST /v1/video/generations",
        {
            "model": "sora-2",
            "prompt": "A serene Japanese garden in spring, with cherry blossoms gently falling",
            "size": "1280x720",
            "duration": 5,
        },
        "prompt: A serene Japanese garden in spring, with cherry blossoms gently falling\n"
        "    size: 1280x720\n    duration: 5",
    ),
    "unified": (
        "unified",
        "POST /v1/video/create",
        {"model": "sora-2", "prompt": "A cat playing piano in a jazz club, cinematic lighting", "aspect_ratio": "16:9"},
        "prompt: A cat playing piano in a jazz club, cinematic lighting\n    aspect_ratio: '16:9'",
    ),
}


@pytest.fixture(autouse=True)
def gateway_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAZYROUTER_API_KEY", KEY)


def manifest(gateway: Gateway, kind: str, scene: str) -> str:
    return (
        f"version: 1\nproviders:\n  crazyrouter: {{kind: {kind}, base_url: '{gateway.base_url}', "
        "api_key_env: CRAZYROUTER_API_KEY, poll_interval: 0.05}\n"
        f"defaults: {{model: sora-2}}\nscenes:\n  - id: docs\n    {scene}\n"
    )


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_docs_example_validates_builds_and_reaches_the_wire_as_the_docs_show_it(
    name: str, gateway: Gateway, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    kind, route, shown, scene = DOCS[name]
    project.gen({"renderkit.yaml": manifest(gateway, kind, scene)})
    assert main(["validate", str(project.path("renderkit.yaml"))]) == 0, capsys.readouterr().err
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"docs": "rendered"}
    (sent,) = gateway.bodies_of(route)
    for field, value in shown.items():
        assert sent.get(field) == value, f"{field}: the docs send {value!r}, renderkit sent {sent.get(field)!r}"
    assert KEY not in json.dumps(sent)


def test_a_gateway_that_reads_only_duration_renders_the_length_asked_for(
    gateway: Gateway, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": manifest(gateway, "openai", "prompt: A harbour at dawn\n    seconds: 8")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"docs": "rendered"}
    assert "delivered" not in err, "the video is as long as asked, so nothing is kept with a warning"
    (sent,) = gateway.bodies_of("POST /v1/videos")
    assert (sent["seconds"], sent["duration"]) == ("8", 8)
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert lock.entries["docs"].seconds == 8


def test_a_video_of_another_length_is_kept_warned_and_locked_as_delivered(
    gateway: Gateway, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.fixed_seconds = 5
    project.gen({"renderkit.yaml": manifest(gateway, "openai", "prompt: A harbour at dawn\n    seconds: 4")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"docs": "rendered"}
    assert "delivered 5.00s instead of 4s; kept, as it was paid for" in err
    lock = read_lock(project.path("renderkit.lock"))
    assert lock is not None
    assert (lock.entries["docs"].seconds, lock.entries["docs"].size) == (5, "720x1280")
    assert len(gateway.bodies) == 1
    code, report, _ = build(project, capsys)
    assert code == 0
    assert statuses(report) == {"docs": "cached"}
    assert len(gateway.bodies) == 1, "the rerun pays nothing: the delivered video is the scene's render"


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ("private: 'yes'", "scenes[0].private", "expected true or false"),
        ("extra: {prompt: something else}", "scenes[0].extra.prompt", "renderkit sends prompt itself"),
        ("extra: {model: sora-2-pro}", "scenes[0].extra.model", "renderkit sends model itself"),
        ("duration: 5\n    seconds: 10", "scenes[0].duration", "write one of them"),
        ("aspect_ratio: '16:9'\n    size: 720x1280", "scenes[0].aspect_ratio", "size 720x1280 is 9:16"),
        ("aspect_ratio: 'wide'", "scenes[0].aspect_ratio", "is not valid here"),
    ],
)
def test_bad_values_in_the_new_fields_are_located_errors(
    fields: str, where: str, message: str, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen({"renderkit.yaml": f"version: 1\nscenes:\n  - id: a\n    prompt: p\n    {fields}\n"})
    assert main(["validate", str(project.path("renderkit.yaml"))]) == 2
    err = capsys.readouterr().err
    assert f" {where}: " in err
    assert message in err


def test_models_can_be_declared_and_a_negative_price_is_a_located_error(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "version: 1\nmodels:\n  kling-2.1: {sizes: [1280x720], seconds: [5, 10], usd_per_second: 0.14}\n"
        "scenes:\n  - {id: a, prompt: p, model: kling-2.1, seconds: 10}\nbudget: 2\n"
    )
    project.gen({"renderkit.yaml": text})
    assert main(["plan", str(project.path("renderkit.yaml"))]) == 0
    err = capsys.readouterr().err
    assert "$1.40" in err
    assert "not in renderkit's catalog" not in err
    project.gen({"renderkit.yaml": text.replace("0.14", "-0.14")})
    assert main(["validate", str(project.path("renderkit.yaml"))]) == 2
    assert "renderkit.yaml:3:68: models['kling-2.1'].usd_per_second: must be at least 0" in capsys.readouterr().err
