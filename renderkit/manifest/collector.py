"""Pause the cyclic garbage collector while building large acyclic structures."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block, restoring its previous state.

    Loading and planning allocate tens of thousands of small acyclic objects; each full collection walks all
    of them, which made a 10,000-scene plan superlinear. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
