"""`renderkit verify [MANIFEST]`: every file named in the lock exists with its sha256."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `verify`."""
    p: argparse.ArgumentParser = sub.add_parser("verify", help=help_text, description=help_text)
    p.add_argument("manifest", nargs="?", default="renderkit.yaml", help="manifest path (default: ./renderkit.yaml)")
    return p


def run(args: argparse.Namespace) -> int:
    """Hash every locked file; exit 1 on any mismatch."""
    from renderkit.ops.verify import verify_lock

    results = verify_lock(Path(args.manifest))
    bad = [r for r in results if not r.ok]
    for r in results:
        print(f"renderkit: {'ok' if r.ok else 'MISMATCH'} {r.file}{'' if r.ok else ': ' + r.problem}", file=sys.stderr)
    print(f"renderkit: verified {len(results)} file(s), {len(bad)} mismatch(es)", file=sys.stderr)
    return 1 if bad else 0
