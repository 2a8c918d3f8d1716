"""Image fitting, last-frame extraction and stitching on real MP4s from the simulator's renderer."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import av
import pytest
from PIL import Image

from renderkit.execute.video import Delivered, Mp4Problem, fit_image, last_frame, probe_mp4, stitch
from renderkit.simulator.inputs import RenderRequest
from renderkit.simulator.inputs import Shot as SimShot
from renderkit.simulator.render import render_video
from tests.builds.helpers import check_mp4


def mp4(tmp_path: Path, name: str, prompt: str, size: tuple[int, int] = (320, 180), seconds: int = 1) -> Path:
    req = RenderRequest(model="sora-2", width=size[0], height=size[1], shots=(SimShot(prompt, seconds),))
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(render_video(req, name, 8))
    return path


def png(size: tuple[int, int], color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("source", [(100, 100), (1920, 1080), (30, 400)])
def test_fit_image_gives_exactly_the_size_and_is_deterministic(source: tuple[int, int]) -> None:
    data = png(source, "red")
    fitted = fit_image(data, "1280x720")
    assert fitted == fit_image(data, "1280x720")
    with Image.open(io.BytesIO(fitted)) as img:
        assert img.size == (1280, 720)
        assert img.getpixel((640, 360)) == (255, 0, 0)


def test_fit_image_letterboxes_instead_of_stretching() -> None:
    with Image.open(io.BytesIO(fit_image(png((100, 100), "white"), "1280x720"))) as img:
        assert img.getpixel((10, 360)) == (0, 0, 0)
        assert img.getpixel((640, 10)) == (255, 255, 255)


def test_fit_image_rejects_what_is_not_an_image() -> None:
    with pytest.raises(OSError, match="cannot identify"):
        fit_image(b"not an image", "1280x720")


def test_last_frame_is_the_final_frame_at_the_requested_size(tmp_path: Path) -> None:
    video = mp4(tmp_path, "a", "A lighthouse at night")
    frame = last_frame(video, "720x1280")
    with Image.open(io.BytesIO(frame)) as img:
        assert img.size == (720, 1280)


def solid_frames(path: Path, colors: list[str], size: tuple[int, int] = (64, 48)) -> Path:
    """An MP4 with one frame of each solid colour, in order."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for color in colors:
            frame = av.VideoFrame.from_image(Image.new("RGB", size, color))  # type: ignore[no-untyped-call]
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_last_frame_is_the_final_frame_decoded_not_the_first(tmp_path: Path) -> None:
    video = solid_frames(tmp_path / "rgb.mp4", ["red", "lime", "red", "blue"])
    with Image.open(io.BytesIO(last_frame(video, "64x48"))) as img:
        r, g, b = img.convert("RGB").getpixel((32, 24))  # type: ignore[misc]
    assert b > 200, "the last frame is blue"
    assert r < 60, "not the red first frame"
    assert g < 60


def test_stitch_by_stream_copy_adds_up_the_durations(tmp_path: Path) -> None:
    parts = [mp4(tmp_path, f"p{i}", f"shot {i}", seconds=s) for i, s in enumerate((1, 2, 1))]
    out = tmp_path / "out.mp4"
    stitch(parts, out)
    check_mp4(out, "320x180", 4)


def test_stitch_reencodes_parts_of_different_sizes(tmp_path: Path) -> None:
    parts = [mp4(tmp_path, "wide", "wide", (320, 180)), mp4(tmp_path, "tall", "tall", (180, 320))]
    out = tmp_path / "out.mp4"
    stitch(parts, out)
    check_mp4(out, "320x180", 2)
    with pytest.raises(Mp4Problem, match=r"2\.00s instead of 4s"):
        check_mp4(out, "320x180", 4)


def test_stitch_of_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to stitch"):
        stitch([], tmp_path / "out.mp4")


def _h264(width: int, height: int, frames: int) -> bytes:
    """A raw H.264 stream (parameter sets in band), which FFmpeg reads as readily as an MP4."""
    out = io.BytesIO()
    with av.open(out, "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for n in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.pts = n
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _no_video_stream() -> bytes:
    """An MP4 whose video stream never received a frame: the muxer records no stream at all."""
    out = io.BytesIO()
    container = av.open(out, "w", format="mp4")
    stream = container.add_stream("libx264", rate=1)
    stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    container.start_encoding()  # writes the header now, with no frame to come
    container.mux(stream.encode(None))
    container.close()
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"\x00\x00\x00\x18ftypmp42 not a video at all", "cannot decode: ", id="not-a-video"),
        pytest.param(_no_video_stream(), "no video stream", id="no-video-stream"),
        pytest.param(
            _h264(64, 64, 2) + _h264(128, 64, 2), "frame size changes from (64, 64) to (128, 64)", id="2-sizes"
        ),
    ],
)
def test_probe_refuses_what_is_not_one_whole_video_of_one_size(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "delivered.mp4"
    path.write_bytes(data)
    with pytest.raises(Mp4Problem) as info:
        probe_mp4(path)
    assert str(info.value).startswith(problem)


def test_probe_measures_a_clip_shorter_than_a_second_and_ignores_its_sound(tmp_path: Path) -> None:
    path = tmp_path / "short.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=4)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("aac", rate=48000)
        for n in range(2):  # half a second of video
            frame = av.VideoFrame(64, 48, "yuv420p")
            frame.pts = n
            container.mux(video.encode(frame))
        for n in range(12):  # a quarter of a second of silence
            samples = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            samples.planes[0].update(bytes(4096))
            samples.sample_rate, samples.pts = 48000, n * 1024
            container.mux(sound.encode(samples))
        container.mux(video.encode(None))
        container.mux(sound.encode(None))
    assert probe_mp4(path) == Delivered(64, 48, 0.5)


@pytest.mark.parametrize(
    ("delivered", "asked", "difference"),
    [
        (Delivered(1280, 720, 4.5), ("1280x720", 4), None),  # within half a second
        (Delivered(1280, 720, 4.3), ("1280x720", 4), None),
        (Delivered(1280, 720, 4.6), ("1280x720", 4), "4.60s instead of 4s"),
        (Delivered(1280, 720, 21.0), ("1280x720", 20), None),  # within 5% of a long one
        (Delivered(1280, 704, 4.0), ("1280x720", 4), "1280x704 instead of 1280x720"),
        (Delivered(720, 1280, 8.0), ("1280x720", 4), "720x1280 instead of 1280x720, 8.00s instead of 4s"),
    ],
)
def test_a_delivery_differs_by_its_size_or_by_more_than_the_tolerance(
    delivered: Delivered, asked: tuple[str, int], difference: str | None
) -> None:
    assert delivered.differs(*asked) == difference


def test_the_decoder_is_imported_on_a_spare_thread_before_the_first_check() -> None:
    code = (
        "import sys, threading; from renderkit.execute import video; assert 'av' not in sys.modules; "
        "video.prepare_decoder(); video.prepare_decoder(); [t] = video._importing; "
        "assert t is not threading.main_thread(); t.join(60); print('av' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, "True"), run.stderr
