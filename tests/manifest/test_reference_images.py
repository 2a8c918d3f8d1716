"""Reference images that would break a build are located errors at validate: nothing written, nothing sent."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from renderkit.cli import main
from tests.fixtures.project import Project

MANIFEST = "version: 1\nscenes:\n  - id: a\n    prompt: a boat\n    image: ref.png\n"


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, format="PNG")
    return out.getvalue()


def bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    )


CASES = {
    "garbage after the signature": b"\x89PNG\r\n\x1a\n" + b"not really an image" * 50,
    "truncated": png((64, 48))[:80],
    "a 40000x40000 bomb": bomb(40000, 40000),
    "over the pixel limit": bomb(9000, 9000),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "plan", "build"])
def test_a_broken_image_is_a_located_error(
    case: str, command: str, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.gen({"renderkit.yaml": MANIFEST, "ref.png": CASES[case]})
    monkeypatch.chdir(project.root)
    before = project.files()
    assert main([command, "renderkit.yaml"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("renderkit.yaml:5:12: scenes[0].image: ref.png: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert project.files() == before


def test_a_good_image_still_validates(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.gen({"renderkit.yaml": MANIFEST, "ref.png": png((640, 360))})
    assert main(["validate", str(project.path("renderkit.yaml"))]) == 0
