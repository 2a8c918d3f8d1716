"""The remote cache: bytes moved per scene, four concurrent shards against one process, and the cost spread.

Run: ``python -m bench.remote [--scenes 24] [--latency 2] [--pad MB]``. Everything runs on loopback: the
simulator, and moto's S3 server with a WSGI wrapper that counts the bytes each request sends and receives.
Printed as ratios measured in this one run, against the targets:

- bytes moved per scene on push and on pull, against the blob's size (target <= 1.05);
- the makespan of 4 concurrent shards (each its own machine: own cache, own output folder) against one process
  building the same scenes on the same simulator settings (target <= 0.3);
- the spread of the shards' estimated costs, against the most expensive single render (target <= 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from renderkit.manifest.load import load_manifest
from renderkit.ops.build import Build, BuildOptions
from renderkit.plan.plan import make_plan
from renderkit.plan.policy import shard_of
from renderkit.plan.state import open_state
from renderkit.simulator import SimConfig, Simulator


class Counted:
    """WSGI middleware: count request and response body bytes."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.sent = 0  # bytes renderkit sent (uploads)
        self.received = 0  # bytes renderkit received (downloads)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.sent += int(environ.get("CONTENT_LENGTH") or 0)
        for chunk in self.app(environ, start_response):
            with self._lock:
                self.received += len(chunk)
            yield chunk

    def reset(self) -> None:
        with self._lock:
            self.sent = self.received = 0


def manifest(base_url: str, scenes: int, max_in_flight: int) -> str:
    lines = [
        "version: 1",
        "providers:",
        f"  sim: {{kind: simulator, base_url: '{base_url}', max_in_flight: {max_in_flight}, poll_interval: 0.1}}",
        "defaults: {provider: sim, model: sora-2, size: 1280x720, seconds: 4}",
        "scenes:",
    ]
    lines += [
        f"  - {{id: s{i:03}, prompt: 'Shot {i} of the harbour', seconds: {(4, 8, 12)[i % 3]}}}" for i in range(scenes)
    ]
    return "\n".join(lines) + "\n"


def machine(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "renderkit.yaml").write_text(text)
    return folder / "renderkit.yaml"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def judge(label: str, value: float, target: float) -> None:
    verdict = "ok" if value <= target else "MISS"
    print(f"  {label:<52} {value:8.3f}   target <= {target:<5} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--latency", type=float, default=5.0, help="simulator seconds from create to done")
    parser.add_argument("--pad", type=float, default=2.0, help="MB each video is padded to")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    assert s3._server is not None
    counter = Counted(s3._server.app)
    s3._server.app = counter
    host, port = s3.get_host_and_port()
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(urllib.request.Request(f"http://{host}:{port}/{bucket}", method="PUT"), timeout=10).close()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    root = Path(tempfile.mkdtemp(prefix="rk-bench-remote-"))
    sim = Simulator(SimConfig(latency=args.latency, fps=4, pad_to=int(args.pad * 1e6))).start()
    try:
        text = manifest(sim.base_url, args.scenes, max_in_flight=2)
        print(f"renderkit bench: remote cache, {args.scenes} scenes, latency {args.latency}s, {args.pad} MB each")
        # 1. One process renders everything and pushes it; a clone pulls it all.
        remote = {**env, "RENDERKIT_REMOTE": f"s3://{bucket}/one"}
        single = machine(root, "single", text)
        counter.reset()
        one = timed(lambda: Build(single, BuildOptions(), environ=remote).run())
        blobs = sum(p.stat().st_size for p in (single.parent / "renders").glob("*.mp4"))
        pushed = counter.sent
        clone = machine(root, "clone", text)
        shutil.copy(single.parent / "renderkit.lock", clone.parent / "renderkit.lock")
        counter.reset()
        creates = sim.ledger()["creates"]
        report = Build(clone, BuildOptions(frozen=True), environ=remote).run()
        assert sim.ledger()["creates"] == creates
        assert not report.failed
        pulled = counter.received
        # 2. Four shards at once, each its own machine, against a fresh prefix of the same bucket.
        sharded = {**env, "RENDERKIT_REMOTE": f"s3://{bucket}/shards"}
        sim.reset(SimConfig(latency=args.latency, fps=4, pad_to=int(args.pad * 1e6)))
        machines = [machine(root, f"shard{k}", text) for k in range(1, 5)]
        threads = [
            threading.Thread(target=lambda m=m, k=k: Build(m, BuildOptions(shard=(k, 4)), environ=sharded).run())
            for k, m in enumerate(machines, 1)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        four = time.perf_counter() - start
        assert sim.ledger()["creates"] == args.scenes, "one create per scene across the shards"
        loaded = load_manifest(machines[0])
        plan = make_plan(loaded, open_state(loaded, {}, root / "empty-cache"))
        costs = [
            sum(i.price_usd or 0 for i in plan.items if i.scene.id in shard_of(plan, (k, 4), None)) for k in range(1, 5)
        ]
        dearest = max(i.price_usd or 0 for i in plan.items)
        print(f"  one process: {one:.2f}s; 4 shards: {four:.2f}s; shard costs: {', '.join(f'${c:.2f}' for c in costs)}")
        print(f"  blobs: {blobs} bytes; pushed {pushed}, pulled {pulled}")
        judge("bytes pushed per scene / blob bytes", pushed / blobs, 1.05)
        judge("bytes pulled per scene / blob bytes", pulled / blobs, 1.05)
        judge("makespan of 4 concurrent shards / one process", four / one, 0.3)
        judge("shard cost spread / dearest single render", (max(costs) - min(costs)) / dearest, 1.0)
    finally:
        sim.stop()
        s3.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
