"""renderkit: declarative render manifests with reproducible, pay-once builds for AI video APIs.

The library API: ``load_manifest`` → ``make_plan`` (with ``open_state``) → ``Build(...).run()``; the lock is
read with ``read_lock`` and checked with ``verify_lock``. The simulator lives in ``renderkit.simulator``.
"""

from __future__ import annotations

from renderkit.errors import CacheError as CacheError
from renderkit.errors import Diagnostic as Diagnostic
from renderkit.errors import InputError as InputError
from renderkit.errors import LockfileError as LockfileError
from renderkit.errors import ManifestError as ManifestError
from renderkit.errors import MissingKeyError as MissingKeyError
from renderkit.errors import ProviderError as ProviderError
from renderkit.errors import RefusedError as RefusedError
from renderkit.errors import RenderkitError as RenderkitError
from renderkit.execute.scheduler import Event as Event
from renderkit.manifest.load import Manifest as Manifest
from renderkit.manifest.load import Scene as Scene
from renderkit.manifest.load import load_manifest as load_manifest
from renderkit.ops.build import Build as Build
from renderkit.ops.build import BuildOptions as BuildOptions
from renderkit.ops.build import BuildReport as BuildReport
from renderkit.ops.build import SceneReport as SceneReport
from renderkit.ops.verify import verify_lock as verify_lock
from renderkit.plan.plan import Plan as Plan
from renderkit.plan.plan import PlanItem as PlanItem
from renderkit.plan.plan import make_plan as make_plan
from renderkit.plan.plan import render_key as render_key
from renderkit.plan.state import open_state as open_state
from renderkit.store.lockfile import Lock as Lock
from renderkit.store.lockfile import LockEntry as LockEntry
from renderkit.store.lockfile import read_lock as read_lock

__version__ = "0.1.0"

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
