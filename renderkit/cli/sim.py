"""`renderkit sim`: run the simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from renderkit.errors import InputError


def add_parser(subparsers: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `sim` and its flags."""
    from renderkit.simulator.config import DIALECTS

    p: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help=help_text,
        parents=parents,
        description="Run the renderkit simulator: every provider route, real MP4s, faults and a ledger.",
        epilog="Fault SPEC: WHERE:KIND[=PARAM][:WHEN], e.g. create:503:@1, content:truncate=0.3:0.5, "
        "'POST /v1/videos:drop-after:@2'. WHERE: create, poll, content, list, delete, remix, characters, models, * "
        "or a route template; KIND: 400-599[=S], drop, drop-after, truncate[=F], slow[=S], fail[=CODE], expire; "
        "WHEN: a probability or @positions (@1,3 @2-4 @5-). A status may announce Retry-After: 429=2.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    p.add_argument("--api-key", action="append", default=[], metavar="KEY", help="accepted key (repeatable)")
    p.add_argument(
        "--model", action="append", default=[], metavar="NAME", help="served model (repeatable; default any)"
    )
    p.add_argument("--latency", type=float, default=1.0, metavar="SECONDS", help="create to completed")
    p.add_argument(
        "--latency-spread",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="draw each task's latency from latency ± this (seeded by --seed)",
    )
    p.add_argument("--status-lag", type=float, default=0.0, metavar="SECONDS", help="answer NOT_START this long")
    p.add_argument("--ttl", type=float, default=3600.0, metavar="SECONDS", help="result lifetime after completion")
    p.add_argument(
        "--url-ttl",
        type=float,
        metavar="SECONDS",
        help="hand out signed result URLs that expire this long after completion (the content route still serves)",
    )
    p.add_argument("--rpm", type=int, metavar="N", help="creates per minute per key")
    p.add_argument("--rate-window", type=float, default=60.0, metavar="SECONDS", help="the window --rpm counts")
    p.add_argument("--max-in-flight", type=int, metavar="N", help="unfinished tasks per key")
    p.add_argument("--poll-after-ms", type=int, metavar="MS", help="openai-poll-after-ms (default latency/10)")
    p.add_argument("--dialect", choices=DIALECTS, default="openai", help="response shapes (default openai)")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC", help="inject a fault (repeatable)")
    p.add_argument("--seed", type=int, help="make ids, renders and random faults repeatable")
    p.add_argument("--pad-to", type=int, metavar="BYTES", help="pad every MP4 to this size with a free box")
    p.add_argument("--fps", type=int, default=24, help="frames per second of rendered videos")
    p.add_argument("--echo-key", action="store_true", help="quote the caller's key in 401s and failure messages")
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit 0 on Ctrl-C."""
    from renderkit.simulator import SimConfig, Simulator

    try:
        config = SimConfig(
            host=args.host,
            port=args.port,
            allow_remote=args.allow_remote,
            api_keys=tuple(args.api_key),
            models=tuple(args.model),
            dialect=args.dialect,
            latency=args.latency,
            latency_spread=args.latency_spread,
            status_lag=args.status_lag,
            ttl=args.ttl,
            url_ttl=args.url_ttl,
            rpm=args.rpm,
            rate_window=args.rate_window,
            max_in_flight=args.max_in_flight,
            poll_after_ms=args.poll_after_ms,
            faults=tuple(args.fault),
            seed=args.seed,
            pad_to=args.pad_to,
            fps=args.fps,
            echo_key=args.echo_key,
        )
    except ValueError as exc:
        raise InputError(f"sim: {exc}") from None
    sim = Simulator(config, log_level="warning")
    try:
        sim.start()
    except OSError as exc:
        raise InputError(
            f"sim: cannot listen on {args.host}:{args.port}: {exc.strerror}; choose another --port"
        ) from None
    print(f"renderkit simulator listening on {sim.base_url}", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        print("renderkit simulator stopped", file=sys.stderr)
    finally:
        sim.stop()
    return 0
