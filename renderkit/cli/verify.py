"""`renderkit verify [MANIFEST | FILE.zip]`: every file named in the lock (or a bundle) exists with its sha256."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `verify`."""
    p: argparse.ArgumentParser = sub.add_parser("verify", help=help_text, description=help_text)
    p.add_argument(
        "manifest", nargs="?", default="renderkit.yaml", help="manifest or bundle .zip (default: ./renderkit.yaml)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Hash every locked (or bundled) file; exit 1 on any mismatch."""
    path = Path(args.manifest)
    if path.suffix == ".zip":
        from renderkit.ops.bundle import check_bundle

        results = [(name, problem) for name, problem in check_bundle(path)]
    else:
        from renderkit.ops.verify import verify_lock

        results = [(r.file, None if r.ok else r.problem) for r in verify_lock(path)]
    bad = [r for r in results if r[1] is not None]
    for name, problem in results:
        print(
            f"renderkit: {'MISMATCH' if problem else 'ok'} {name}{': ' + problem if problem else ''}", file=sys.stderr
        )
    print(f"renderkit: verified {len(results)} file(s), {len(bad)} mismatch(es)", file=sys.stderr)
    return 1 if bad else 0
