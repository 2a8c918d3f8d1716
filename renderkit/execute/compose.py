"""Renders made from other media: the reference image a create sends, and storyboards stitched from shots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from renderkit.execute.events import SceneFailed
from renderkit.execute.jobs import Job
from renderkit.execute.video import Mp4Problem, fit_image, last_frame, probe_mp4, stitch
from renderkit.providers.base import ImageInput
from renderkit.request import ImageRef
from renderkit.store.cache import Cache, Record, sha256_file


def reference_image(ref: ImageRef, size: str) -> ImageInput:
    """The image a create sends: a URL as is, or the project file letterboxed to exactly ``size`` as a PNG."""
    if ref.url is not None or ref.path is None:
        return ImageInput(url=ref.url)
    return ImageInput(data=fit_image(ref.path.read_bytes(), size), mime="image/png", filename=f"{ref.path.stem}.png")


def continued_frame(cache: Cache, job: Job, record: Record | None) -> ImageInput:
    """The last frame of the upstream's render (this build's ``record``, else the cache's), fitted to the job."""
    import av

    upstream = job.upstream
    if record is None and job.request.upstream_key is not None:
        record = cache.get(job.request.upstream_key)
    if record is None or not cache.has_blob(record.sha256, record.bytes):
        raise SceneFailed(
            f"the render of {upstream!r} is not in the cache, so its last frame cannot be taken; "
            f"run `renderkit plan` to see why, then build {upstream!r} first"
        )
    try:
        frame = last_frame(cache.blob_path(record.sha256), job.request.size)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise SceneFailed(
            f"cannot read the last frame of {upstream!r} ({exc}); run `renderkit verify`, "
            f"then rerun with --force {upstream} if its render is damaged"
        ) from None
    return ImageInput(data=frame, mime="image/png", filename=f"{upstream}-last-frame.png")


def stitch_shots(cache: Cache, job: Job, shots: Sequence[Record]) -> Record:
    """Stitch the shots' blobs into the scene's video, check it, store it and record it in the index."""
    part = cache.temp_path(f"{job.key}.stitch.mp4")
    try:
        stitch([cache.blob_path(r.sha256) for r in shots], part)
        delivered = probe_mp4(part)
    except (Mp4Problem, ValueError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise SceneFailed(f"stitching the shots failed: {exc}") from None
    difference = delivered.differs(job.request.size, job.length)
    # Only shots the provider delivered differently make a stitched video differ; they were kept, and so is it.
    record_as = {"size": delivered.size, "seconds": round(delivered.seconds)} if difference else None
    return _store(cache, job, part, shots, record_as)


def _store(cache: Cache, job: Job, part: Path, shots: Sequence[Record], delivered: dict[str, object] | None) -> Record:
    sha256 = sha256_file(part)
    size = part.stat().st_size
    cache.add_blob(part, sha256)
    record = Record(
        key=job.key,
        request=job.request.identity(),
        provider_kind=shots[0].provider_kind,
        task_id="",
        sha256=sha256,
        bytes=size,
        shots=tuple({"key": r.key, "task_id": r.task_id, "sha256": r.sha256} for r in shots),
        delivered=delivered,
    )
    cache.put(record)
    return record
