"""The renderkit simulator: a loopback HTTP server that speaks every provider route, renders real MP4s and
injects faults. ``with Simulator(SimConfig(latency=0.2)) as sim: sim.base_url``."""

from __future__ import annotations

from renderkit.simulator.config import DIALECTS, SimConfig
from renderkit.simulator.faults import parse_fault
from renderkit.simulator.server import Simulator

__all__ = ["DIALECTS", "SimConfig", "Simulator", "parse_fault"]
