"""`renderkit validate [MANIFEST]`: report every problem at once; exit 0 (warnings printed) or 2."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from renderkit.errors import ManifestError
from renderkit.manifest.load import Manifest, load_manifest
from renderkit.store.layout import RAISE_ERRORS_ENV


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    """Register the command."""
    parser: argparse.ArgumentParser = subparsers.add_parser("validate", help=help_text, description=help_text)
    parser.add_argument("manifest", nargs="?", default="renderkit.yaml", help="default: ./renderkit.yaml")
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the manifest and print its warnings, or every diagnostic and exit 2."""
    manifest = load_or_report(args.manifest)
    if manifest is None:
        return ManifestError.exit_code
    count = len(manifest.scenes)
    print(f"{args.manifest}: valid, {count} scene{'s' * (count != 1)}", file=sys.stderr)
    return 0


def load_or_report(path: str) -> Manifest | None:
    """Load ``path`` printing its warnings; on errors print each diagnostic as FILE:LINE:COL and return None."""
    try:
        manifest = load_manifest(path)
    except ManifestError as exc:
        if os.environ.get(RAISE_ERRORS_ENV):
            raise
        # One diagnostic per line with no prefix, so editors and CI problem matchers can parse them.
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return None
    for warning in manifest.warnings:
        print(warning, file=sys.stderr)
    return manifest
