"""`renderkit validate [MANIFEST] [--json]`: report every problem at once; exit 0 (warnings printed) or 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit
from renderkit.manifest.load import load_manifest


def add_parser(subparsers: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "validate", help=help_text, description=help_text, parents=parents
    )
    add_manifest(parser)
    add_json(parser, "the verdict")
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the manifest and print its warnings, or every diagnostic and exit 2."""
    path = find_manifest(args.manifest)
    manifest = load_manifest(path)
    for warning in manifest.warnings:
        print(warning, file=sys.stderr)
    count = len(manifest.scenes)
    if not args.quiet:
        print(f"{path}: valid, {count} scene{'s' * (count != 1)}", file=sys.stderr)
    if args.json:
        warnings = [
            {"line": w.line, "col": w.col, "path": w.path, "message": w.message, "code": w.code}
            for w in manifest.warnings
        ]
        emit({"manifest": str(manifest.path.absolute()), "valid": True, "scenes": count, "warnings": warnings})
    return 0
