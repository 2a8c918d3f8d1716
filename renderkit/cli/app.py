"""Command line: `renderkit [--version] [-C DIR] [-v | -q] COMMAND`; the only package that prints or picks exit
codes. Unexpected exceptions keep their traceback; RENDERKIT_RAISE_ERRORS=1 re-raises renderkit's own errors too."""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

from renderkit import __version__
from renderkit.cli.output import emit
from renderkit.errors import InputError, ManifestError, RenderkitError
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
    "init": "start a project: a commented renderkit.yaml that builds on the simulator, and its schema",
    "schema": "print (or write) the manifest's JSON Schema, for editors",
    "completion": "print the shell completion script for bash, zsh or fish",
    "report": "write a static page to review every render by watching it (contact sheet, takes, changes)",
    "sim": "run the simulator in the foreground",
}


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` reads it: $COLUMNS, else stdout's terminal, else 80."""
    with contextlib.suppress(KeyError, ValueError):
        if (columns := int(os.environ["COLUMNS"])) > 0:
            return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, told the width up front: argparse would import shutil (with bz2 and lzma) to ask
    for it on every run, since it formats each argument as it is added."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help uses ``_Formatter``; its subcommands' parsers are of this class too."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """-C, -v and -q, accepted before the command and after it."""
    parser.add_argument(
        "-C", dest="directory", metavar="DIR", default=default, help="run as if started in DIR (like git -C)"
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="also log every HTTP exchange (keys hidden)"
    )
    loudness.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="print only warnings, errors and results"
    )


@functools.cache
def _parser(
    wanted: str | None,
) -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """The parser with ``wanted``'s options in full; built once per process (argparse takes about 5 ms)."""
    parser = _Parser(prog="renderkit", description="Reproducible builds for AI video APIs.")
    parser.add_argument("--version", action="version", version=f"renderkit {__version__}")
    _global_options(parser, None)
    after = _Parser(add_help=False)
    _global_options(after, argparse.SUPPRESS)  # after the command, they override only when given
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    runners: dict[str, Callable[[argparse.Namespace], int]] = {}
    for name, help_text in COMMANDS.items():
        if wanted is not None and name != wanted:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"renderkit.cli.{name}")
        p = module.add_parser(sub, help_text, [after])
        runners[name] = module.run
        p.set_defaults(command=name)
    return parser, runners


def _logging(verbose: bool) -> None:
    """With -v, renderkit's loggers (the HTTP exchange) print to stderr; without it they stay silent."""
    if not verbose:
        return
    import logging  # only with -v: a build that logs nothing does not pay for importing it

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("renderkit: %(message)s"))
    logger = logging.getLogger("renderkit")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


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


def run(args_list: Sequence[str]) -> int:
    """Parse ``args_list``, run its command, and turn renderkit's errors into messages and exit codes."""
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions: it needs every command's options
        import argcomplete

        argcomplete.autocomplete(_parser(None)[0])
    parser, runners = _parser(next((a for a in args_list if a in COMMANDS), None))
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    as_json = bool(getattr(args, "json", False))
    try:
        if args.directory is not None:
            _enter(args.directory)
        _logging(bool(args.verbose))
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
        if as_json:
            emit(_error_document(exc, exc.exit_code))
        return exc.exit_code
    except KeyboardInterrupt:
        code = 143 if _terminated else 130
        print("renderkit: interrupted; rerun the same command to resume", file=sys.stderr)
        if as_json:
            emit(
                {
                    "error": {"type": "Interrupted", "message": "interrupted; rerun the same command to resume"},
                    "exit_code": code,
                }
            )
        return code


def _enter(directory: str) -> None:
    """-C DIR: work from DIR, as git and make do."""
    try:
        os.chdir(directory)
    except OSError as exc:
        raise InputError(f"-C {directory}: {exc.strerror or exc}") from None


def _error_document(exc: RenderkitError, code: int) -> dict[str, object]:
    """The --json document of a failed command: what went wrong, as data."""
    error: dict[str, object] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ManifestError):
        error["diagnostics"] = [
            {"file": d.file, "line": d.line, "col": d.col, "path": d.path, "message": d.message, "code": d.code}
            for d in exc.diagnostics
            if d.severity == "error"
        ]
    return {"error": error, "exit_code": code}
