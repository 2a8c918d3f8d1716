"""`renderkit bundle [MANIFEST] [--out FILE.zip] [--json]`: outputs, lock and index.json in one reproducible zip."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `bundle`."""
    p: argparse.ArgumentParser = sub.add_parser("bundle", help=help_text, description=help_text, parents=parents)
    add_manifest(p)
    p.add_argument("--out", type=Path, metavar="FILE.zip", help="where to write it (default: NAME.bundle.zip)")
    add_json(p, "where the bundle is")
    return p


def run(args: argparse.Namespace) -> int:
    """Write the bundle; exit 1 when a file the lock pins is missing or differs."""
    from renderkit.ops.bundle import bundle

    path, count = bundle(Path(find_manifest(args.manifest)), args.out)
    if not args.quiet:
        print(f"renderkit: bundled {count} scene(s) into {path}", file=sys.stderr)
    if args.json:
        emit({"bundle": str(path.absolute()), "scenes": count})
    return 0
