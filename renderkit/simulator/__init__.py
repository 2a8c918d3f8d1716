"""The renderkit simulator: a loopback HTTP server that speaks every provider route, renders real MP4s and
injects faults. It is renderkit's embedded default provider and the server every test talks to.

Python::

    with Simulator(SimConfig(latency=0.2)) as sim:   # 127.0.0.1, a free port, a background thread
        sim.base_url                                  # "http://127.0.0.1:PORT"; OpenAI SDK: base_url + "/v1"
        sim.add_fault("create:503:@1")                # see renderkit.simulator.faults for the syntax
        sim.configure(dialect="envelope", rpm=10)     # any SimConfig field but the address, while running
        sim.advance(60)                               # move the clock: no test sleeps to reach a state
        sim.wait_for(lambda led: led["creates"] == 3) # block on the ledger, with a timeout
        sim.ledger()  # {"creates", "paid_seconds", "requests": {ROUTE: N}, "responses": {STATUS: N}, "faults"}

Command line: ``renderkit sim [--host 127.0.0.1] [--port N] [--api-key KEY]... [--latency S] [--rpm N]
[--max-in-flight N] [--dialect NAME] [--fault SPEC]... [--seed N] ...``; the same controls over HTTP under
``/_sim/`` (see ``app``). Dialects and route shapes: ``dialects``; routes and choices: ``handlers``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from renderkit.simulator.config import DIALECTS as DIALECTS
    from renderkit.simulator.config import SimConfig as SimConfig
    from renderkit.simulator.faults import parse_fault as parse_fault
    from renderkit.simulator.server import Simulator as Simulator

# Loaded on first use (PEP 562): every CLI command reads the simulator's config for `renderkit sim --help`, and
# none of them should pay for the server, its web stack and the video encoder to do so.
_HOMES = {
    "DIALECTS": "renderkit.simulator.config",
    "SimConfig": "renderkit.simulator.config",
    "Simulator": "renderkit.simulator.server",
    "parse_fault": "renderkit.simulator.faults",
}
__all__ = ["DIALECTS", "SimConfig", "Simulator", "parse_fault"]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
