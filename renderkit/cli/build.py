"""`renderkit build [MANIFEST] [-j N] [--json] [--frozen] [--max-cost USD] [--shard K/N] [--wait S] [--force ID]...`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from renderkit import __version__
from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import finish_build, shown
from renderkit.store.layout import BUILD_LOCK_WAIT


def _number(cast: Callable[[str], float], low: float, what: str, example: str) -> Callable[[str], Any]:
    """An argparse type: ``cast`` of the text, at least ``low``; the message names the flag's unit."""

    def parse(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} such as {example}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{what} must be at least {low:g}, not {text}")
        return value

    return parse


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {text!r}: need 1 <= K <= N")
    return k, n


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `build`."""
    p: argparse.ArgumentParser = sub.add_parser("build", help=help_text, description=help_text, parents=parents)
    add_manifest(p)
    p.add_argument(
        "-j",
        "--jobs",
        type=_number(int, 1, "a whole number of renders", "4"),
        help="renders in flight at once (default: the provider's max_in_flight, else 8)",
    )
    add_json(p, "the report")
    p.add_argument(
        "--frozen", action="store_true", help="refuse (exit 3) if the lock is stale or anything would be paid for"
    )
    p.add_argument(
        "--max-cost",
        type=_number(float, 0, "an amount in USD", "2.50"),
        metavar="USD",
        help="refuse (exit 3) if the renders would cost more",
    )
    p.add_argument(
        "--shard", type=_shard, metavar="K/N", help="build only shard K of N (balanced on cost; chains stay together)"
    )
    p.add_argument(
        "--wait",
        type=_number(float, 0, "a number of seconds", "60"),
        default=BUILD_LOCK_WAIT,
        metavar="SECONDS",
        help=f"wait this long for another build using the same cache (default {BUILD_LOCK_WAIT:g}; then exit 4)",
    )
    p.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="ID",
        help="render this scene again even if cached (repeat the flag, or ID,ID); also the consent to re-pay a "
        "create whose answer was lost",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Run a build and print its report."""
    manifest = find_manifest(args.manifest)
    force = tuple(scene for value in args.force for scene in value.split(",") if scene)
    if not force and args.shard is None:
        from renderkit.store import memo as noop

        memo = noop.check(Path(manifest), __version__, os.environ)
        if memo is not None:
            return finish_build(
                memo["doc"], memo["warnings"], shown(Path(memo["lock"])), quiet=args.quiet, as_json=args.json
            )

    from renderkit.cli.progress import progress_for
    from renderkit.ops.build import Build, BuildOptions
    from renderkit.store.layout import lock_path

    options = BuildOptions(
        jobs=args.jobs, frozen=args.frozen, max_cost=args.max_cost, shard=args.shard, force=force, wait=args.wait
    )
    with progress_for(sys.stderr, quiet=args.quiet) as progress:
        report = Build(manifest, options, progress, on_plan=progress.planned).run()
    warnings = [*report.warnings, *report.problems]
    return finish_build(
        report.to_json(), warnings, shown(lock_path(report.manifest)), quiet=args.quiet, as_json=args.json
    )
