"""`renderkit gc [MANIFEST ...]`: drop cache entries that no given lockfile references."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `gc`."""
    p: argparse.ArgumentParser = sub.add_parser(
        "gc",
        help=help_text,
        description=f"{help_text}. With a shared RENDERKIT_CACHE_DIR, name every manifest that uses it.",
    )
    p.add_argument(
        "manifests", nargs="*", default=["renderkit.yaml"], metavar="MANIFEST", help="default: ./renderkit.yaml"
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Collect garbage and report what was freed."""
    from renderkit.ops.gc import collect

    records, freed = collect(args.manifests)
    print(
        f"renderkit: gc dropped {records} cache record(s) and freed {freed} bytes ({freed / 1e6:.1f} MB)",
        file=sys.stderr,
    )
    return 0
