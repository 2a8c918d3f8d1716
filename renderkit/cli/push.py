"""`renderkit push [MANIFEST] [--json]`: send the lock's renders to the remote (and what push and pull share)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit

if TYPE_CHECKING:
    from renderkit.ops.transfer import Transfer


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `push`."""
    p: argparse.ArgumentParser = sub.add_parser("push", help=help_text, description=help_text, parents=parents)
    add_manifest(p)
    add_json(p, "what moved")
    return p


def run(args: argparse.Namespace) -> int:
    """Push; exit 1 when something could not be sent."""
    from renderkit.ops.transfer import push

    transfer = push(Path(find_manifest(args.manifest)))
    return report(args, ("pushed", "already on the remote", "not in the local cache"), transfer)


def report(args: argparse.Namespace, words: tuple[str, str, str], transfer: Transfer) -> int:
    """Print a transfer's warnings and summary (and its --json document); exit 1 when a render did not move."""
    moved, present, missing = words
    for warning in transfer.warnings:
        print(f"renderkit: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(
            f"renderkit: {len(transfer.moved)} {moved}, {len(transfer.present)} {present}, "
            f"{len(transfer.missing)} {missing}",
            file=sys.stderr,
        )
    if args.json:
        emit(
            {
                "moved": list(transfer.moved),
                "present": list(transfer.present),
                "missing": list(transfer.missing),
                "warnings": list(transfer.warnings),
            }
        )
    return 1 if transfer.warnings else 0
