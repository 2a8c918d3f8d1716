"""Image-to-video: a local image is letterboxed to the scene's size and shows up in the render."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, manifest_text, statuses
from tests.fixtures.project import Project

COLOUR = (200, 30, 180)


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def first_frame_pixel(video: Path, xy: tuple[int, int]) -> tuple[int, int, int]:
    with av.open(str(video)) as container:
        frame: Any = next(container.decode(video=0))
        pixel: tuple[int, int, int] = frame.to_image().getpixel(xy)
        return pixel


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("kind", ["simulator", "openai", "generations"])
def test_local_image_is_fitted_and_rendered(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    text = manifest_text(simulator, [("still", "The picture comes to life")], kind=kind)
    text = text.replace("    prompt:", "    image: images/ref.png\n    prompt:")
    # A square source: letterboxed into 1280x720, so the sides are black and the centre is the picture.
    project.gen({"renderkit.yaml": text, "images/ref.png": png((300, 300), COLOUR)})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"still": "rendered"}
    video = project.path("renders/still.mp4")
    assert close(first_frame_pixel(video, (640, 600)), COLOUR)
    assert close(first_frame_pixel(video, (40, 600)), (0, 0, 0))


def test_unified_family_refuses_a_local_image_at_validate_time(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    text = manifest_text(simulator, [("still", "The picture comes to life")], kind="unified")
    text = text.replace("    prompt:", "    image: images/ref.png\n    prompt:")
    project.gen({"renderkit.yaml": text, "images/ref.png": png((300, 300), COLOUR)})
    code, _, err = build(project, capsys)
    assert code == 2
    assert "renderkit.yaml:15:12: scenes[0].image:" in err
    assert "https" in err
    assert project.files() == {"renderkit.yaml", "images/ref.png"}
    assert simulator.ledger()["creates"] == 0
