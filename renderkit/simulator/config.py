"""The simulator's configuration: one frozen dataclass, validated on construction."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from renderkit.simulator.faults import parse_fault

DIALECTS = ("openai", "envelope", "taskdto", "video-object")


@dataclass(frozen=True)
class SimConfig:
    """How the simulator listens, answers and misbehaves; every duration is in wall-clock seconds.

    ``latency`` is create-to-completed, and with ``latency_spread`` each task's is drawn from
    U(latency - spread, latency + spread) (seeded by ``seed``), as real renders vary; ``status_lag`` keeps a
    new task answering NOT_START/``unknown``;
    ``ttl`` is how long results live after completion; with ``url_ttl`` set, result URLs are signed file URLs
    (``/files/{id}.mp4?expires=``) that stop working that long after completion while the content route
    still serves; ``rate_window`` is the length of the "minute" that ``rpm`` counts over (shrink it in
    tests); ``models`` lists the models served (empty: any; a create for another answers 503
    ``model_not_found`` like the gateway's distributor); ``pad_to`` pads every MP4 to that many bytes with a
    ``free`` box; ``seed`` makes renders, ids and rate-based faults repeatable; ``echo_key`` quotes the caller's
    key in 401 answers and failed tasks' messages, as careless gateways do.
    """

    host: str = "127.0.0.1"
    port: int = 0
    allow_remote: bool = False
    api_keys: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    dialect: str = "openai"
    latency: float = 1.0
    latency_spread: float = 0.0
    status_lag: float = 0.0
    ttl: float = 3600.0
    url_ttl: float | None = None
    poll_after_ms: int | None = None
    rpm: int | None = None
    rate_window: float = 60.0
    max_in_flight: int | None = None
    faults: tuple[str, ...] = ()
    seed: int | None = None
    pad_to: int | None = None
    fps: int = 24
    echo_key: bool = False

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {self.dialect!r}; choose one of {', '.join(DIALECTS)}")
        if not self.allow_remote and not _is_loopback(self.host):
            raise ValueError(
                f"refusing to listen on non-loopback host {self.host!r}; pass allow_remote=True "
                "(--allow-remote) to expose the simulator"
            )
        for name in ("latency", "status_lag", "ttl", "latency_spread"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 seconds")
        if self.latency_spread > self.latency:
            raise ValueError("latency_spread must not exceed latency (a task cannot finish before it starts)")
        if self.rate_window <= 0:
            raise ValueError("rate_window must be > 0 seconds")
        if self.url_ttl is not None and self.url_ttl < 0:
            raise ValueError("url_ttl must be >= 0 seconds (or unset)")
        for name in ("rpm", "max_in_flight", "poll_after_ms", "pad_to"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 (or unset)")
        if not 1 <= self.fps <= 60:
            raise ValueError("fps must be between 1 and 60")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        if any(not key for key in self.api_keys):
            raise ValueError("api keys must be non-empty")
        if any(not model for model in self.models):
            raise ValueError("model names must be non-empty")
        for spec in self.faults:
            parse_fault(spec)

    @property
    def poll_after(self) -> int:
        """The ``openai-poll-after-ms`` value sent on pending tasks: about a tenth of the latency."""
        if self.poll_after_ms is not None:
            return self.poll_after_ms
        return max(10, min(2000, int(self.latency * 100)))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
