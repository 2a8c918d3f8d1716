"""`renderkit completion bash|zsh|fish`: the shell completion script (argcomplete: commands, flags, scene files)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `completion`."""
    p: argparse.ArgumentParser = sub.add_parser(
        "completion",
        help=help_text,
        description=f'{help_text}. For example: `eval "$(renderkit completion bash)"` in ~/.bashrc, '
        "`renderkit completion fish > ~/.config/fish/completions/renderkit.fish`.",
        parents=parents,
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    return p


def run(args: argparse.Namespace) -> int:
    """Print the script."""
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode(["renderkit"], shell=args.shell))
    return 0
