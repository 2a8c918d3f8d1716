"""A thin slice of ``bench/build.py``, so the bench does not rot: its launcher, its simulator host and its trace."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import httpx
import pytest

from bench import build, dvc_peer

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


def test_the_trace_tells_how_long_the_oldest_result_had_waited_at_any_instant() -> None:
    tasks = [["a", 10.0, 2.0, 60.0], ["b", 11.0, 2.0, 60.0], ["c", 11.5, 2.0, 60.0]]  # ready at 12, 13, 13.5
    requests = [[14.0, 14.1, "GET", "/v1/videos/a/content", 200], [16.0, 16.1, "GET", "/v1/videos/c/content", 200]]
    trace = build.Trace({"requests": requests, "tasks": tasks, "poll_after_ms": 200})
    # b is never downloaded, so from 14 s on it is the oldest waiting; c, downloaded at 16, never was.
    assert trace.oldest_waiting_at([20.0, 11.0, 12.5, 13.9, 14.0]) == pytest.approx([7.0, 0.0, 0.5, 1.9, 1.0])


def test_the_dvc_peer_writes_what_a_finished_repro_leaves_and_refuses_a_dvc_that_would_rerun(tmp_path: Path) -> None:
    fake = tmp_path / "dvc"  # a stand-in that skips one stage of two, as DVC would with a lock it does not accept
    fake.write_text('#!/bin/sh\ncase "$*" in *repro*) echo "Stage \'s0\' didn\'t change, skipping";; esac\n')
    fake.chmod(0o755)
    assert dvc_peer.find_dvc(str(fake)) == str(fake)
    assert dvc_peer.find_dvc(str(tmp_path / "missing")) is None
    project = tmp_path / "project"
    with pytest.raises(SystemExit, match="skipped 1 of 2 stages"):
        dvc_peer.make_project(project, str(fake), 2)
    lock = (project / "dvc.lock").read_text()
    for i in range(2):
        data = (project / "in" / f"{i}.txt").read_bytes()
        md5 = hashlib.md5(data).hexdigest()
        assert (project / "out" / f"{i}.txt").read_bytes() == data
        assert (project / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).read_bytes() == data
        assert lock.count(f"md5: {md5}") == 2, "the stage's input and output are both pinned"
    assert "deps: [in/1.txt]" in (project / "dvc.yaml").read_text()
