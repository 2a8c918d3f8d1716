"""`renderkit init [DIR] [--json]`: start a project with a commented manifest that builds on the simulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from renderkit.cli.common import add_json
from renderkit.cli.output import emit
from renderkit.errors import InputError
from renderkit.manifest.schema import schema_text
from renderkit.store.layout import MANIFEST_NAME, SCHEMA_NAME

STARTER = f"""\
# yaml-language-server: $schema={SCHEMA_NAME}
# A renderkit manifest. `renderkit plan` shows what a build would render and cost (it sends nothing);
# `renderkit build` renders what changed and pins it in renderkit.lock. Commit this file, the lock and
# {SCHEMA_NAME}; keep .renderkit/ (the cache) and renders/ out of git, or share renders through a remote.
version: 1

# With no providers: section, renders come from renderkit's built-in simulator: free, local, no API key.
# For a real gateway, uncomment and export CRAZYROUTER_API_KEY:
# providers:
#   crazyrouter:
#     kind: openai                  # openai | generations | unified | simulator
#     base_url: https://api.crazyrouter.com
#     api_key_env: CRAZYROUTER_API_KEY
#     rpm: 10                       # creates per minute
#     max_in_flight: 4

defaults:
  model: sora-2
  size: 1280x720
  seconds: 4

# budget: 5.00                      # refuse a build that would cost more (USD)
# remote: s3://my-bucket/renders    # share renders with the team (see the README)

scenes:
  - id: opening                     # names the output: renders/opening.mp4
    prompt: A quiet harbor at dawn, fishing boats rocking gently, mist over the water
  - id: opening-night
    remix_of: opening               # the same shot, remade
    prompt: The same harbor at night, lanterns on the water
"""


def add_parser(sub: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `init`."""
    p: argparse.ArgumentParser = sub.add_parser("init", help=help_text, description=help_text, parents=parents)
    p.add_argument("directory", nargs="?", default=".", type=Path, help="where to start it (default: here)")
    add_json(p, "the files written")
    return p


def run(args: argparse.Namespace) -> int:
    """Write renderkit.yaml and its schema; refuse to overwrite a manifest."""
    from renderkit.store.files import atomic_write

    folder: Path = args.directory
    manifest = folder / MANIFEST_NAME
    if manifest.exists():
        raise InputError(f"{manifest} already exists; renderkit init starts a new project and overwrites nothing")
    atomic_write(manifest, STARTER.encode("utf-8"))
    atomic_write(folder / SCHEMA_NAME, schema_text("manifest").encode("utf-8"))
    if not args.quiet:
        print(f"renderkit: wrote {manifest} and {folder / SCHEMA_NAME}", file=sys.stderr)
        print("renderkit: next: renderkit plan, then renderkit build (on the simulator: free)", file=sys.stderr)
    if args.json:
        emit({"manifest": str(manifest.absolute()), "schema": str((folder / SCHEMA_NAME).absolute())})
    return 0
