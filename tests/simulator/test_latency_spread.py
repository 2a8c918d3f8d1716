"""Per-task latency drawn from a seeded spread, so benches and tests can model renders that vary."""

from __future__ import annotations

import pytest

from renderkit.simulator import SimConfig, Simulator


def test_each_task_gets_its_own_latency_within_the_spread() -> None:
    with Simulator(SimConfig(latency=10.0, latency_spread=5.0, seed=3)) as sim:
        latencies = [sim.app._latency(sim.config) for _ in range(200)]
    assert all(5.0 <= x <= 15.0 for x in latencies)
    assert max(latencies) - min(latencies) > 8.0
    with Simulator(SimConfig(latency=10.0, latency_spread=5.0, seed=3)) as again:
        assert [again.app._latency(again.config) for _ in range(200)] == latencies, "seeded: repeatable"


def test_a_spread_wider_than_the_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_spread"):
        SimConfig(latency=1.0, latency_spread=2.0)
