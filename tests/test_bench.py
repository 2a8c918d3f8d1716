"""A thin slice of ``bench/build.py``, so the bench does not rot: its launcher, its simulator host and its trace."""

from __future__ import annotations

import sys

import httpx

from bench import build

SMALL = {"latency": 0.05, "max_in_flight": 4}


def test_the_launcher_reports_the_commands_own_peak_not_the_benchs() -> None:
    small = build.checked(build.run_child([sys.executable, "-S", "-c", "pass"], timeout=60), "python -S")
    big = build.run_child(
        [sys.executable, "-S", "-c", "b = bytearray(96 << 20); b[::4096] = b'x' * len(b[::4096])"], timeout=60
    )
    assert big.returncode == 0
    assert small.peak_rss < 48 * build.MIB, "a bare interpreter is not floored at the bench's own size"
    assert big.peak_rss - small.peak_rss > 80 * build.MIB
    assert 0 < small.seconds < big.seconds + 60


def test_the_simulator_host_traces_each_task_from_create_to_download() -> None:
    with build.SimProcess() as sim:
        sim.setup(**SMALL)
        headers = {"authorization": f"Bearer {build.API_KEY}"}
        body = {"prompt": "a boat", "model": "sora-2", "size": "160x90", "seconds": "4"}
        with httpx.Client(base_url=sim.base_url, headers=headers, trust_env=False, timeout=30) as client:
            task_id = client.post("/v1/videos", json=body).raise_for_status().json()["id"]
            for _ in range(200):  # the simulator's clock runs on; each poll is a round trip, not a sleep
                if client.get(f"/v1/videos/{task_id}").json()["status"] == "completed":
                    break
            assert client.get(f"/v1/videos/{task_id}/content").status_code == 200
        ledger = sim.ledger()
        trace = sim.trace()
    assert build.requests_of(ledger) >= 3
    assert list(trace.created) == [task_id]
    assert trace.latency[task_id] == SMALL["latency"]
    assert trace.polls[task_id], "every poll is on the trace"
    [age] = trace.waits()
    assert age >= 0, "the download was asked for after the result was ready"
    peak, [at_end] = trace.backlog_at([trace.last + 1])
    assert (peak, at_end) == (1, 0)
