"""`renderkit validate [MANIFEST]`: report every problem at once; exit 0 (warnings printed) or 2."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from renderkit.manifest import load_manifest


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    """Register the command."""
    parser: argparse.ArgumentParser = subparsers.add_parser("validate", help=help_text, description=help_text)
    parser.add_argument("manifest", nargs="?", default="renderkit.yaml", help="default: ./renderkit.yaml")
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the manifest; ManifestError reaches the dispatcher, which prints it and exits 2."""
    manifest = load_manifest(args.manifest)
    for warning in manifest.warnings:
        print(warning, file=sys.stderr)
    count = len(manifest.scenes)
    print(f"{args.manifest}: valid, {count} scene{'s' * (count != 1)}", file=sys.stderr)
    return 0
