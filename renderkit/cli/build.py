"""`renderkit build [MANIFEST] [--jobs N] [--json] [--frozen] [--max-cost USD] [--shard K/N] [--force ID ...]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from renderkit import __version__
from renderkit.store.layout import BUILD_LOCK_WAIT


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {text!r}: need 1 <= K <= N")
    return k, n


def _money(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in USD such as 2.50, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the cost cap cannot be negative")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("--wait cannot be negative")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("--jobs must be at least 1")
    return value


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `build`."""
    p: argparse.ArgumentParser = sub.add_parser("build", help=help_text, description=help_text)
    p.add_argument("manifest", nargs="?", default="renderkit.yaml", help="manifest path (default: ./renderkit.yaml)")
    p.add_argument("--jobs", type=_jobs, help="renders in flight at once (default: the provider's max_in_flight or 8)")
    p.add_argument("--json", action="store_true", help="write one JSON report to stdout")
    p.add_argument(
        "--frozen", action="store_true", help="refuse (exit 3) if the lock is stale or anything would render"
    )
    p.add_argument("--max-cost", type=_money, metavar="USD", help="refuse (exit 3) if the renders would cost more")
    p.add_argument(
        "--shard", type=_shard, metavar="K/N", help="build only shard K of N (dependency chains stay together)"
    )
    p.add_argument(
        "--wait",
        type=_seconds,
        default=BUILD_LOCK_WAIT,
        metavar="SECONDS",
        help=f"wait this long for another build using the same cache (default {BUILD_LOCK_WAIT:g}; then exit 4)",
    )
    p.add_argument(
        "--force",
        nargs="+",
        action="extend",
        default=[],
        metavar="ID",
        help="render these scenes again even if cached, and consent to re-paying a create whose answer was lost",
    )
    return p


def _finish(doc: dict[str, Any], warnings: list[str], lock_file: str, as_json: bool) -> int:
    """Print warnings, the summary, failures and the JSON report; return the exit code."""
    for warning in warnings:
        print(f"renderkit: warning: {warning}", file=sys.stderr)
    totals = doc["totals"]
    unknown = totals.get("unknown_cost", 0)
    spent = f"${totals['cost_usd']:.2f}" + (f" + unknown for {unknown}" if unknown else "")
    print(
        f"renderkit: {len(doc['scenes'])} scene(s): {totals['rendered']} rendered ({spent}), "
        f"{totals['cached']} cached, {totals['failed']} failed; lock: {lock_file}",
        file=sys.stderr,
    )
    failed = [s for s in doc["scenes"] if s["status"] == "failed"]
    for scene in failed:
        print(f"renderkit: FAILED {scene['id']}: {scene['reason']}", file=sys.stderr)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")  # one write: a pipe gets the document at once
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    """Run a build and print its report."""
    if not args.force and args.shard is None:
        from renderkit.store import memo as noop

        memo = noop.check(Path(args.manifest), __version__, os.environ)
        if memo is not None:
            return _finish(memo["doc"], memo["warnings"], memo["lock"], args.json)

    from renderkit.cli.progress import progress_for
    from renderkit.ops.build import Build, BuildOptions
    from renderkit.store.layout import lock_path

    options = BuildOptions(
        jobs=args.jobs,
        frozen=args.frozen,
        max_cost=args.max_cost,
        shard=args.shard,
        force=tuple(args.force),
        wait=args.wait,
    )
    with progress_for(sys.stderr) as progress:
        report = Build(args.manifest, options, progress, on_plan=progress.planned).run()
    warnings = [*report.warnings, *report.problems]
    return _finish(report.to_json(), warnings, str(lock_path(report.manifest)), args.json)
