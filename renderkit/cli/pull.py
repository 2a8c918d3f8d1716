"""`renderkit pull [MANIFEST] [--json]`: fetch what the lock names from the remote and write the outputs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.push import report


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `pull`."""
    p: argparse.ArgumentParser = sub.add_parser("pull", help=help_text, description=help_text, parents=parents)
    add_manifest(p)
    add_json(p, "what moved")
    return p


def run(args: argparse.Namespace) -> int:
    """Pull; exit 1 when the remote failed or a render was found on neither side."""
    from renderkit.ops.transfer import pull

    transfer = pull(Path(find_manifest(args.manifest)))
    code = report(args, ("pulled", "already cached", "on neither side"), transfer)
    return 1 if transfer.missing else code
