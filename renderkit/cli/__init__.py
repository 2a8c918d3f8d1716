"""renderkit's command line: ``renderkit [-C DIR] [-v | -q] COMMAND ...`` (the commands are in ``app``).

A build that changes nothing is the command run most often, by people and by CI, so ``main`` answers it from
the no-op memo before argparse, logging and the command modules load; anything else, or any doubt, goes to
``app``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

_MEMO_FLAGS = frozenset({"--json", "-q", "--quiet"})  # the only build flags the shortcut understands


def main(argv: Sequence[str] | None = None) -> int:
    """Run renderkit with ``argv`` and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    answered = _unchanged_build(args)
    if answered is not None:
        return answered
    from renderkit.cli.app import run

    return run(args)


def _unchanged_build(args: list[str]) -> int | None:
    """The exit code of ``build`` answered from its memo, or None when the full command must run."""
    if not args or args[0] != "build" or "_ARGCOMPLETE" in os.environ:
        return None
    flags = {a for a in args[1:] if a.startswith("-")}
    given = [a for a in args[1:] if not a.startswith("-")]
    if len(given) > 1 or not flags <= _MEMO_FLAGS:
        return None
    from pathlib import Path

    from renderkit import __version__
    from renderkit.store import memo
    from renderkit.store.layout import ALTERNATE_MANIFEST_NAME, MANIFEST_NAME

    if given:
        manifest = Path(given[0])
    elif os.path.isfile(MANIFEST_NAME) and not os.path.exists(ALTERNATE_MANIFEST_NAME):
        manifest = Path(MANIFEST_NAME)
    else:
        return None  # found in a parent folder, or ambiguous: the full command says which
    stored = memo.check(manifest, __version__, os.environ)
    if stored is None:
        return None
    from renderkit.cli.output import finish_build, shown

    quiet = bool(flags & {"-q", "--quiet"})
    return finish_build(
        stored["doc"], stored["warnings"], shown(Path(stored["lock"])), quiet=quiet, as_json="--json" in flags
    )
