"""Command line: `renderkit [--version] COMMAND`; the only package that prints or picks exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from renderkit import __version__
from renderkit.errors import ManifestError, RenderkitError
from renderkit.store.layout import RAISE_ERRORS_ENV

# Each subcommand lives in renderkit/cli/<name>.py and defines add_parser(subparsers) and run(args) -> int.
# Modules are imported only when their command runs, so `renderkit plan` never pays for the simulator.
COMMANDS = {
    "validate": "check a manifest and report every error at once",
    "plan": "show what a build would render, why, and what it would cost (sends nothing)",
    "build": "render what changed, cache it, and write renderkit.lock",
    "verify": "check that every file named in renderkit.lock (or in a bundle) exists with its sha256",
    "gc": "drop cache entries that no lock of the project references (any branch or tag)",
    "push": "send the renders the lock names to the remote cache",
    "pull": "fetch the renders the lock names from the remote cache and write the outputs",
    "bundle": "write the outputs, the lock and index.json into one reproducible zip",
    "sim": "run the simulator in the foreground",
}


def _parser(
    wanted: str | None,
) -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = argparse.ArgumentParser(prog="renderkit", description="Reproducible builds for AI video APIs.")
    parser.add_argument("--version", action="version", version=f"renderkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners: dict[str, Callable[[argparse.Namespace], int]] = {}
    for name, help_text in COMMANDS.items():
        if wanted is not None and name != wanted:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"renderkit.cli.{name}")
        p = module.add_parser(sub, help_text)
        runners[name] = module.run
        p.set_defaults(command=name)
    return parser, runners


_terminated: list[int] = []


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (what CI sends when it cancels a job) takes the path of Ctrl-C, whoever handles that now."""
    _terminated.append(signum)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)  # asyncio's handler cancels the build's main task cleanly
    else:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM interrupt the command, even when the shell started it with SIGINT ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler), signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def main(argv: Sequence[str] | None = None) -> int:
    """Run renderkit with ``argv`` and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser, runners = _parser(next((a for a in args_list if a in COMMANDS), None))
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with _interruptible():
            return runners[args.command](args)
    except RenderkitError as exc:
        if os.environ.get(RAISE_ERRORS_ENV):
            raise
        if isinstance(exc, ManifestError):
            # One diagnostic per line with no prefix, so editors and CI problem matchers can parse them.
            for diagnostic in exc.diagnostics:
                print(diagnostic, file=sys.stderr)
        else:
            print(f"renderkit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("renderkit: interrupted; rerun the same command to resume", file=sys.stderr)
        return 143 if _terminated else 130
