"""`renderkit report [MANIFEST] [--out DIR] [--against LOCK]`: a static page to review the renders by watching
them; sends nothing."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from renderkit.cli.validate import load_or_report
from renderkit.errors import ManifestError


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    """Register the command."""
    parser: argparse.ArgumentParser = subparsers.add_parser("report", help=help_text, description=help_text)
    parser.add_argument("manifest", nargs="?", default="renderkit.yaml", help="default: ./renderkit.yaml")
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="folder for index.html (default: report/ in the output folder)"
    )
    parser.add_argument(
        "--against",
        metavar="LOCK",
        help="mark what changed since an older lock: a lock file, or git:REF for the manifest's lock at a git ref",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the page and say where it is."""
    manifest = load_or_report(args.manifest)
    if manifest is None:
        return ManifestError.exit_code
    from renderkit.ops.report import write_report

    page = write_report(manifest, args.out, args.against, os.environ)
    print(f"renderkit: report written to {page}; open it in a browser (it needs no network)", file=sys.stderr)
    return 0
