"""`renderkit bundle [MANIFEST] [--out FILE.zip]`: the outputs, the lock and index.json in one reproducible zip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `bundle`."""
    p: argparse.ArgumentParser = sub.add_parser("bundle", help=help_text, description=help_text)
    p.add_argument("manifest", nargs="?", default="renderkit.yaml", help="manifest path (default: ./renderkit.yaml)")
    p.add_argument("--out", type=Path, metavar="FILE.zip", help="where to write it (default: NAME.bundle.zip)")
    return p


def run(args: argparse.Namespace) -> int:
    """Write the bundle; exit 1 when a file the lock pins is missing or differs."""
    from renderkit.ops.bundle import bundle

    path, count = bundle(Path(args.manifest), args.out)
    print(f"renderkit: bundled {count} scene(s) into {path}", file=sys.stderr)
    return 0
