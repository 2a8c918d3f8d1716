"""renderkit: declarative render manifests with reproducible, pay-once builds for AI video APIs.

The library API: ``load_manifest`` → ``make_plan`` (with ``open_state``) → ``Build(...).run()``; the lock is
read with ``read_lock`` and checked with ``verify_lock``. The simulator lives in ``renderkit.simulator``.

Names load on first use (PEP 562), so ``import renderkit.manifest.load`` or the no-op check pays for no
async, HTTP or video library.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from renderkit.errors import CacheError as CacheError
    from renderkit.errors import Diagnostic as Diagnostic
    from renderkit.errors import InputError as InputError
    from renderkit.errors import LockfileError as LockfileError
    from renderkit.errors import ManifestError as ManifestError
    from renderkit.errors import MissingKeyError as MissingKeyError
    from renderkit.errors import ProviderError as ProviderError
    from renderkit.errors import RefusedError as RefusedError
    from renderkit.errors import RenderkitError as RenderkitError
    from renderkit.execute.events import Event as Event
    from renderkit.manifest.load import load_manifest as load_manifest
    from renderkit.manifest.model import Manifest as Manifest
    from renderkit.manifest.model import Scene as Scene
    from renderkit.ops.build import Build as Build
    from renderkit.ops.build import BuildOptions as BuildOptions
    from renderkit.ops.build import BuildReport as BuildReport
    from renderkit.ops.build import SceneReport as SceneReport
    from renderkit.ops.verify import verify_lock as verify_lock
    from renderkit.plan.plan import Plan as Plan
    from renderkit.plan.plan import PlanItem as PlanItem
    from renderkit.plan.plan import make_plan as make_plan
    from renderkit.plan.state import open_state as open_state
    from renderkit.request import render_key as render_key
    from renderkit.store.lockfile import Lock as Lock
    from renderkit.store.lockfile import LockEntry as LockEntry
    from renderkit.store.lockfile import read_lock as read_lock

__version__ = "0.1.0"

# httpx's __init__ imports its command-line client (rich, click and their dependencies: about 55 ms per process)
# whenever they are installed, and renderkit never runs it. With this entry that import fails and httpx defines
# its stub ``main`` instead; nothing else in httpx uses the module.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# Public name -> the module that defines it; tests check this agrees with the imports above.
_HOMES = {
    "Build": "renderkit.ops.build",
    "BuildOptions": "renderkit.ops.build",
    "BuildReport": "renderkit.ops.build",
    "CacheError": "renderkit.errors",
    "Diagnostic": "renderkit.errors",
    "Event": "renderkit.execute.events",
    "InputError": "renderkit.errors",
    "Lock": "renderkit.store.lockfile",
    "LockEntry": "renderkit.store.lockfile",
    "LockfileError": "renderkit.errors",
    "Manifest": "renderkit.manifest.model",
    "ManifestError": "renderkit.errors",
    "MissingKeyError": "renderkit.errors",
    "Plan": "renderkit.plan.plan",
    "PlanItem": "renderkit.plan.plan",
    "ProviderError": "renderkit.errors",
    "RefusedError": "renderkit.errors",
    "RenderkitError": "renderkit.errors",
    "Scene": "renderkit.manifest.model",
    "SceneReport": "renderkit.ops.build",
    "load_manifest": "renderkit.manifest.load",
    "make_plan": "renderkit.plan.plan",
    "open_state": "renderkit.plan.state",
    "read_lock": "renderkit.store.lockfile",
    "render_key": "renderkit.request",
    "verify_lock": "renderkit.ops.verify",
}

__all__ = [
    "Build",
    "BuildOptions",
    "BuildReport",
    "CacheError",
    "Diagnostic",
    "Event",
    "InputError",
    "Lock",
    "LockEntry",
    "LockfileError",
    "Manifest",
    "ManifestError",
    "MissingKeyError",
    "Plan",
    "PlanItem",
    "ProviderError",
    "RefusedError",
    "RenderkitError",
    "Scene",
    "SceneReport",
    "__version__",
    "load_manifest",
    "make_plan",
    "open_state",
    "read_lock",
    "render_key",
    "verify_lock",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'renderkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
