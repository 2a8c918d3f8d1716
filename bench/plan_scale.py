"""Plan time for 1,000 and 10,000 scenes (half cached), their ratio, and the plan against interpreter start-up.

Run: .venv/bin/python bench/plan_scale.py
Targets: 10,000 / 1,000 <= 11 (linear), and planning 1,000 scenes costs less than starting the interpreter and
importing renderkit's planning modules.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from renderkit.manifest.load import load_manifest
from renderkit.plan.plan import Previous, make_plan

SIZES = ("720x1280", "1280x720")


class HalfCached:
    """A state in which the given keys are cached and every scene was built before."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    def cached(self, key: str) -> bool:
        return key in self.keys

    def previous(self, scene_id: str) -> Previous | None:
        return None

    def paid(self, key: str) -> str | None:
        return None


def write_manifest(root: Path, n: int) -> Path:
    """A manifest of ``n`` scenes: defaults, varied sizes and seconds, and every tenth scene a remix."""
    lines = ["version: 1", "defaults: {model: sora-2, size: 1280x720, seconds: 4}", "scenes:"]
    for i in range(n):
        lines.append(f"  - id: scene-{i:05d}")
        if i % 10 == 9:
            lines.append(f"    remix_of: scene-{i - 1:05d}")
        else:
            lines.append(f"    size: {SIZES[i % 2]}")
            lines.append(f"    seconds: {(4, 8, 12)[i % 3]}")
        lines.append(f"    prompt: Shot {i} of the harbor at dawn, boats rocking, gulls overhead, cinematic light")
    path = root / f"m{n}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plan_seconds(path: Path, repeats: int) -> float:
    """Fastest wall time of load + validate + key + plan against a half-cached state (the least noisy estimate)."""
    manifest = load_manifest(path)
    first = make_plan(manifest, HalfCached(set()))
    state = HalfCached({item.key for item in first.items[::2]})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        plan = make_plan(load_manifest(path), state)
        times.append(time.perf_counter() - start)
        cached = sum(item.status == "cached" for item in plan.items)
        del plan  # freeing the last plan is not part of planning the next one
    assert cached >= len(first.items) // 2
    return min(times)


def startup_seconds(code: str, repeats: int = 7) -> float:
    """Fastest wall time of a fresh interpreter running ``code``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t1k = plan_seconds(write_manifest(root, 1_000), repeats=15)
        t10k = plan_seconds(write_manifest(root, 10_000), repeats=5)
    bare = startup_seconds("pass")
    imports = startup_seconds("import renderkit.manifest, renderkit.plan")
    print(f"plan 1,000 scenes (half cached):  {t1k * 1000:8.1f} ms")
    print(f"plan 10,000 scenes (half cached): {t10k * 1000:8.1f} ms")
    print(f"ratio 10,000 / 1,000:             {t10k / t1k:8.2f}   (target <= 11)")
    print(f"bare interpreter start-up:        {bare * 1000:8.1f} ms")
    print(f"start-up + planning imports:      {imports * 1000:8.1f} ms")
    print(f"plan 1,000 / (start-up + imports): {t1k / imports:7.2f}   (target < 1)")


if __name__ == "__main__":
    main()
