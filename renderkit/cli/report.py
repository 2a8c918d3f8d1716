"""`renderkit report [MANIFEST] [--out DIR] [--against LOCK] [--json]`: a static page to review the renders by
watching them; sends nothing."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit
from renderkit.manifest.load import load_manifest


def add_parser(subparsers: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report", help=help_text, description=help_text, parents=parents
    )
    add_manifest(parser)
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="folder for index.html (default: report/ in the output folder)"
    )
    parser.add_argument(
        "--against",
        metavar="LOCK",
        help="mark what changed since an older lock: a lock file, or git:REF for the manifest's lock at a git ref",
    )
    add_json(parser, "where the page is")
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the page and say where it is."""
    manifest = load_manifest(find_manifest(args.manifest))
    for warning in manifest.warnings:
        print(warning, file=sys.stderr)
    from renderkit.ops.report import write_report

    page = write_report(manifest, args.out, args.against, os.environ)
    if not args.quiet:
        print(f"renderkit: report written to {page}; open it in a browser (it needs no network)", file=sys.stderr)
    if args.json:
        emit({"manifest": str(manifest.path.absolute()), "page": str(page.absolute()), "scenes": len(manifest.scenes)})
    return 0
