"""`renderkit push [MANIFEST]`: send the renders the lock names to the remote (and the summary push and pull share)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `push`."""
    p: argparse.ArgumentParser = sub.add_parser("push", help=help_text, description=help_text)
    p.add_argument("manifest", nargs="?", default="renderkit.yaml", help="manifest path (default: ./renderkit.yaml)")
    return p


def run(args: argparse.Namespace) -> int:
    """Push; exit 1 when something could not be sent."""
    from renderkit.ops.transfer import push

    return report("pushed", "already on the remote", "not in the local cache", push(Path(args.manifest)))


def report(moved: str, present: str, missing: str, transfer: Any) -> int:
    """Print a transfer's warnings and summary; exit 1 when a render could not be moved."""
    for warning in transfer.warnings:
        print(f"renderkit: warning: {warning}", file=sys.stderr)
    print(
        f"renderkit: {len(transfer.moved)} {moved}, {len(transfer.present)} {present}, "
        f"{len(transfer.missing)} {missing}",
        file=sys.stderr,
    )
    return 1 if transfer.warnings else 0
