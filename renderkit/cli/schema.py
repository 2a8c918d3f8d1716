"""`renderkit schema [manifest|output] [--out FILE]`: the manifest's JSON Schema, for editors (and CI validators)
outside this repository, or the schema of every --json document, for scripts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from renderkit.manifest.schema import SCHEMA_FILES, schema_text


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `schema`."""
    p: argparse.ArgumentParser = sub.add_parser("schema", help=help_text, description=help_text, parents=parents)
    p.add_argument(
        "which",
        nargs="?",
        choices=tuple(SCHEMA_FILES),
        default="manifest",
        help="manifest (default): renderkit.yaml's schema; output: the --json documents'",
    )
    p.add_argument("--out", type=Path, metavar="FILE", help="write it here instead of printing it")
    return p


def run(args: argparse.Namespace) -> int:
    """Print or write the schema."""
    if args.out is None:
        sys.stdout.write(schema_text(args.which))
        return 0
    from renderkit.store.files import atomic_write

    atomic_write(args.out, schema_text(args.which).encode("utf-8"))
    if args.which == "manifest" and not args.quiet:
        print(
            f"renderkit: wrote {args.out}; point an editor at it with the first line of the manifest:", file=sys.stderr
        )
        print(f"# yaml-language-server: $schema={args.out.name}", file=sys.stderr)
    return 0
