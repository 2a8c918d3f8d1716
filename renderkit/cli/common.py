"""What every command shares: the manifest argument and its search, and the --json switch."""

from __future__ import annotations

import argparse
from pathlib import Path

from renderkit.errors import InputError
from renderkit.store.layout import ALTERNATE_MANIFEST_NAME, MANIFEST_NAME


def add_manifest(parser: argparse.ArgumentParser, *, many: bool = False) -> None:
    """The MANIFEST positional: optional; without it, renderkit.yaml in this folder or the nearest parent."""
    help_text = f"manifest path (default: {MANIFEST_NAME} here or in the nearest parent folder)"
    if many:
        parser.add_argument("manifests", nargs="*", metavar="MANIFEST", help=help_text)
    else:
        parser.add_argument("manifest", nargs="?", help=help_text)


def add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """``--json``: one document on stdout, also on failure (an error document)."""
    parser.add_argument("--json", action="store_true", help=f"write {what} as one JSON document to stdout")


def find_manifest(given: str | None) -> str:
    """``given``, or the project's manifest found from the working folder upwards (as git finds its repository)."""
    if given is not None:
        return given
    here = Path.cwd()
    for folder in (here, *here.parents):
        main, alternate = folder / MANIFEST_NAME, folder / ALTERNATE_MANIFEST_NAME
        if main.is_file() and alternate.is_file():
            raise InputError(f"{folder} holds both {MANIFEST_NAME} and {ALTERNATE_MANIFEST_NAME}; remove one")
        for candidate in (main, alternate):
            if candidate.is_file():
                return str(candidate if folder != here else candidate.name)
    raise InputError(
        f"no {MANIFEST_NAME} here or in any parent folder of {here}; name the manifest, "
        "or start a project with `renderkit init`"
    )
