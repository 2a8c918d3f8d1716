"""`renderkit verify [MANIFEST | FILE.zip] [--json]`: every file the lock (or a bundle) names, with its sha256."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `verify`."""
    p: argparse.ArgumentParser = sub.add_parser("verify", help=help_text, description=help_text, parents=parents)
    add_manifest(p)
    add_json(p, "every file's verdict")
    return p


def run(args: argparse.Namespace) -> int:
    """Hash every locked (or bundled) file; exit 1 on any mismatch."""
    path = Path(find_manifest(args.manifest))
    if path.suffix == ".zip":
        from renderkit.ops.bundle import check_bundle

        results = list(check_bundle(path))
    else:
        from renderkit.ops.verify import verify_lock

        results = [(r.file, None if r.ok else r.problem) for r in verify_lock(path)]
    bad = [r for r in results if r[1] is not None]
    for name, problem in results:
        if problem or not args.quiet:
            print(
                f"renderkit: {'MISMATCH' if problem else 'ok'} {name}{': ' + problem if problem else ''}",
                file=sys.stderr,
            )
    if not args.quiet:
        print(f"renderkit: verified {len(results)} file(s), {len(bad)} mismatch(es)", file=sys.stderr)
    if args.json:
        files = [{"file": name, "ok": problem is None, "problem": problem} for name, problem in results]
        emit({"target": str(path.absolute()), "files": files, "mismatches": len(bad)})
    return 1 if bad else 0
