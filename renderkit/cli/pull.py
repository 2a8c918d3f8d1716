"""`renderkit pull [MANIFEST]`: fetch what the lock names from the remote and write the outputs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from renderkit.cli.push import report


def add_parser(sub: Any, help_text: str) -> argparse.ArgumentParser:
    """Register `pull`."""
    p: argparse.ArgumentParser = sub.add_parser("pull", help=help_text, description=help_text)
    p.add_argument("manifest", nargs="?", default="renderkit.yaml", help="manifest path (default: ./renderkit.yaml)")
    return p


def run(args: argparse.Namespace) -> int:
    """Pull; exit 1 when the remote failed or a render was found on neither side."""
    from renderkit.ops.transfer import pull

    transfer = pull(Path(args.manifest))
    code = report("pulled", "already cached", "on neither side", transfer)
    return 1 if transfer.missing else code
