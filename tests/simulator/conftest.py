"""A bearer-key httpx client for the shared simulator."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from renderkit.simulator import Simulator


@pytest.fixture
def http(simulator: Simulator) -> Iterator[httpx.Client]:
    """httpx client with ``Authorization: Bearer sk-test``."""
    with simulator.client() as client:
        yield client
