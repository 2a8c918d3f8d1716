"""`renderkit gc [MANIFEST ...] [--dry-run] [--all-commits] [--remote]`: drop what no lock references."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `gc`."""
    p: argparse.ArgumentParser = sub.add_parser(
        "gc",
        help=help_text,
        description=f"{help_text}. Every renderkit lock in the project's working tree, and in git on every "
        "local branch and tag, keeps what it names.",
    )
    p.add_argument(
        "manifests", nargs="*", default=["renderkit.yaml"], metavar="MANIFEST", help="default: ./renderkit.yaml"
    )
    p.add_argument("--dry-run", action="store_true", help="list what would go and the bytes, delete nothing")
    p.add_argument("--all-commits", action="store_true", help="keep what a lock in any commit of history names")
    p.add_argument("--remote", action="store_true", help="sweep the remote cache too (objects older than a day)")
    return p


def run(args: argparse.Namespace) -> int:
    """Collect garbage and report what was (or would be) freed."""
    from renderkit.ops.gc import collect

    result = collect(args.manifests, dry_run=args.dry_run, all_commits=args.all_commits, remote=args.remote)
    verb = "would drop" if args.dry_run else "dropped"
    places = [(str(root), swept) for root, swept in result.local.items()]
    if result.remote is not None:
        places.append(("the remote", result.remote))
    for where, swept in places:
        if args.dry_run:
            for key in swept.records:
                print(f"renderkit: would drop record {key} from {where}", file=sys.stderr)
            for sha256, size in swept.blobs:
                print(f"renderkit: would drop blob {sha256} ({size} bytes) from {where}", file=sys.stderr)
        print(
            f"renderkit: gc {verb} {len(swept.records)} record(s) and {len(swept.blobs)} blob(s) from {where}, "
            f"{swept.bytes} bytes ({swept.bytes / 1e6:.1f} MB); {result.kept.locks} lock(s) kept "
            f"{len(result.kept.keys)} render(s)",
            file=sys.stderr,
        )
    return 0
