"""Fixtures for team tests: ``clones``, folders that stand for the machines of a team."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.remote.helpers import Clones


@pytest.fixture
def clones(tmp_path: Path) -> Clones:
    """Machines as project folders under this test's temp directory."""
    return Clones(tmp_path / "machines")
