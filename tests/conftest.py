"""Shared fixtures: a clean environment for every test; the simulator and project helpers are plugins."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.sim", "tests.fixtures.project", "tests.fixtures.s3", "tests.fixtures.gateway"]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strip renderkit, proxy and provider-key variables so no test depends on the caller's shell."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith("RENDERKIT_") or upper.endswith("_PROXY") or upper.endswith("_API_KEY"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
