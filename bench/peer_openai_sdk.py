"""The peer that ``bench/build.py`` compares renderkit against: a plain script on the official ``openai`` SDK.

Two ways to download one finished video, each run by the bench as its own process so that its figures are its
own, and each printing one JSON line with the seconds taken and the bytes written:

- ``download``: ``OpenAI().videos.download_content(ID).write_to_file(PATH)``, the SDK's documented call, which
  reads the whole body into memory first;
- ``stream``: ``with_streaming_response.download_content(ID)`` and ``stream_to_file(PATH)``, httpx streaming
  chunk by chunk.

Loopback only; every wait is bounded by the SDK's timeout.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import openai

# The SDK marks the videos resource as deprecated (the Sora API sunset); the warning is noise here.
warnings.filterwarnings("ignore", category=DeprecationWarning)


def _loopback(base_url: str) -> str:
    host = urlsplit(base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"peer: refusing a non-loopback base URL {base_url!r}")
    return base_url.rstrip("/") + "/v1"


def _download(args: argparse.Namespace) -> dict[str, object]:
    client = openai.OpenAI(base_url=_loopback(args.base_url), api_key=args.api_key, max_retries=0, timeout=600.0)
    start = time.perf_counter()
    with client:
        if args.mode == "stream":
            with client.videos.with_streaming_response.download_content(args.video_id) as response:
                response.stream_to_file(args.out)
        else:
            client.videos.download_content(args.video_id).write_to_file(args.out)
    return {"seconds": time.perf_counter() - start, "bytes": Path(args.out).stat().st_size}


def main() -> None:
    """Parse the mode and its settings, run it, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("download", "stream"))
    parser.add_argument("--base-url", required=True, help="the simulator's root, http://127.0.0.1:PORT")
    parser.add_argument("--api-key", default="sk-peer")
    parser.add_argument("--out", required=True, help="the output file")
    parser.add_argument("--video-id", required=True)
    args = parser.parse_args()
    print(json.dumps(_download(args)), flush=True)


if __name__ == "__main__":
    main()
