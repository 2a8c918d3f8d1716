"""`renderkit gc [MANIFEST ...] [--dry-run] [--all-commits] [--remote]`: drop what no lock references."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `gc`."""
    p: argparse.ArgumentParser = sub.add_parser(
        "gc",
        help=help_text,
        description=f"{help_text}. Every renderkit lock in the project's working tree, and in git on every "
        "local branch and tag, keeps what it names.",
        parents=parents,
    )
    add_manifest(p, many=True)
    add_json(p, "what was (or would be) dropped")
    p.add_argument("--dry-run", action="store_true", help="list what would go and the bytes, delete nothing")
    p.add_argument("--all-commits", action="store_true", help="keep what a lock in any commit of history names")
    p.add_argument("--remote", action="store_true", help="sweep the remote cache too (objects older than a day)")
    return p


def run(args: argparse.Namespace) -> int:
    """Collect garbage and report what was (or would be) freed."""
    from renderkit.ops.gc import collect

    manifests = args.manifests or [find_manifest(None)]
    result = collect(manifests, dry_run=args.dry_run, all_commits=args.all_commits, remote=args.remote)
    verb = "would drop" if args.dry_run else "dropped"
    places = [(str(root), swept) for root, swept in result.local.items()]
    if result.remote is not None:
        places.append(("the remote", result.remote))
    for where, swept in places:
        if args.dry_run and not args.json:
            for key in swept.records:
                print(f"renderkit: would drop record {key} from {where}", file=sys.stderr)
            for sha256, size in swept.blobs:
                print(f"renderkit: would drop blob {sha256} ({size} bytes) from {where}", file=sys.stderr)
            for poster, size in swept.posters:
                print(f"renderkit: would drop poster frame {poster.name} ({size} bytes) from {where}", file=sys.stderr)
        dropped = f"{len(swept.records)} record(s) and {len(swept.blobs)} blob(s)"
        dropped += f" and {len(swept.posters)} poster frame(s)" if swept.posters else ""
        print(
            f"renderkit: gc {verb} {dropped} from {where}, "
            f"{swept.bytes} bytes ({swept.bytes / 1e6:.1f} MB); {result.kept.locks} lock(s) kept "
            f"{len(result.kept.keys)} render(s)",
            file=sys.stderr,
        )
    if args.json:
        emit(
            {
                "dry_run": args.dry_run,
                "locks": result.kept.locks,
                "kept": len(result.kept.keys),
                "swept": [
                    {
                        "where": where,
                        "records": swept.records,
                        "blobs": [{"sha256": sha, "bytes": size} for sha, size in swept.blobs],
                        "bytes": swept.bytes,
                    }
                    for where, swept in places
                ],
            }
        )
    return 0
