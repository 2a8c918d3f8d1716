"""The peer that ``bench/build.py`` compares renderkit against: a plain script on the official ``openai`` SDK.

Two modes, each run by the bench as its own process so the figures are that process's alone:

``render``: N videos through ``AsyncOpenAI``, at most ``--cap`` at a time (an ``asyncio.Semaphore`` held from
create to the end of the download, as a script written from the SDK's docs would do), each one
``videos.create_and_poll`` then ``videos.download_content(...).write_to_file``. The SDK retries 429s itself
with its own backoff (honouring ``retry-after-ms``). Prints one JSON line: seconds, rendered, failed, errors.

``download``: ``OpenAI().videos.download_content(ID).write_to_file(PATH)`` for one finished video. Prints one
JSON line with the seconds taken.

Loopback only; every wait is bounded by the SDK's timeout and ``--deadline``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import openai

# The SDK marks the videos resource as deprecated (the Sora API sunset); the warning is noise here.
warnings.filterwarnings("ignore", category=DeprecationWarning)

PROMPT = "peer {i}: a paper boat drifting down a rainy street, shot {i}"


def _loopback(base_url: str) -> str:
    host = urlsplit(base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"peer: refusing a non-loopback base URL {base_url!r}")
    return base_url.rstrip("/") + "/v1"


async def _render(args: argparse.Namespace) -> dict[str, object]:
    out = Path(args.out)
    limit = asyncio.Semaphore(args.cap)
    errors: list[str] = []
    client = openai.AsyncOpenAI(
        base_url=_loopback(args.base_url), api_key=args.api_key, max_retries=args.max_retries, timeout=60.0
    )

    async def one(i: int) -> bool:
        async with limit:
            try:
                video = await client.videos.create_and_poll(
                    prompt=PROMPT.format(i=i), model=args.model, size=args.size, seconds=args.seconds
                )
                if video.status != "completed":
                    errors.append(f"{video.id}: {video.status}")
                    return False
                content = await client.videos.download_content(video.id)
                await asyncio.to_thread(content.write_to_file, out / f"{i:04d}.mp4")
            except openai.OpenAIError as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return False
            return True

    start = time.perf_counter()
    async with client:
        done = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(args.n))), args.deadline)
    seconds = time.perf_counter() - start
    rendered = sum(done)
    return {"seconds": seconds, "rendered": rendered, "failed": args.n - rendered, "errors": errors[:5]}


def _download(args: argparse.Namespace) -> dict[str, object]:
    client = openai.OpenAI(base_url=_loopback(args.base_url), api_key=args.api_key, max_retries=0, timeout=600.0)
    start = time.perf_counter()
    with client:
        client.videos.download_content(args.video_id).write_to_file(args.out)
    return {"seconds": time.perf_counter() - start, "bytes": Path(args.out).stat().st_size}


def main() -> None:
    """Parse the mode and its settings, run it, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("render", "download"))
    parser.add_argument("--base-url", required=True, help="the simulator's root, http://127.0.0.1:PORT")
    parser.add_argument("--api-key", default="sk-peer")
    parser.add_argument("--out", required=True, help="render: output folder; download: output file")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--cap", type=int, default=20)
    parser.add_argument("--model", default="sora-2")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", default="4")
    parser.add_argument("--max-retries", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--video-id", default="")
    args = parser.parse_args()
    if args.mode == "render":
        Path(args.out).mkdir(parents=True, exist_ok=True)
    result = asyncio.run(_render(args)) if args.mode == "render" else _download(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
