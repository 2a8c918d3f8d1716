"""What commands leave behind for people and scripts: the --json document and a build's summary lines.

Standard library only: a build that changes nothing prints its stored report through here before argparse and the
command modules load."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Bumped when a --json document changes in a way a script could trip on (a field removed or retyped).
FORMAT_VERSION = 1


def emit(doc: dict[str, Any]) -> None:
    """Write a --json document (with its format version) to stdout in one write."""
    sys.stdout.write(json.dumps({"format_version": FORMAT_VERSION, **doc}, indent=2) + "\n")
    sys.stdout.flush()


def finish_build(doc: dict[str, Any], warnings: list[str], lock_file: str, *, quiet: bool, as_json: bool) -> int:
    """Print warnings, the summary, failures and the JSON report; return the exit code."""
    for warning in warnings:
        print(f"renderkit: warning: {warning}", file=sys.stderr)
    totals = doc["totals"]
    unknown = totals.get("unknown_cost", 0)
    spent = f"${totals['cost_usd']:.2f}" + (f" + unknown for {unknown}" if unknown else "")
    # A scene with takes lists every candidate (itself among them); totals count renders.
    renders = [r for s in doc["scenes"] for r in s.get("takes") or [s]]
    counted = f"{len(doc['scenes'])} scene(s)" + (
        f" in {len(renders)} renders" if len(renders) > len(doc["scenes"]) else ""
    )
    if not quiet:
        print(
            f"renderkit: {counted}: {totals['rendered']} rendered ({spent}), "
            f"{totals['cached']} cached, {totals['failed']} failed; lock: {lock_file}",
            file=sys.stderr,
        )
    failed = [s for s in renders if s["status"] == "failed"]
    for scene in failed:
        print(f"renderkit: FAILED {scene['id']}: {scene['reason']}", file=sys.stderr)
    if as_json:
        emit(doc)
    return 1 if failed else 0


def shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (a short line), else absolute."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())
