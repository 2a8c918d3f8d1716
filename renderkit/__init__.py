"""renderkit: declarative render manifests with reproducible, pay-once builds for AI video APIs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
