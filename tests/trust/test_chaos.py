"""Chaos: what a killed build, a faulty or lying provider and a hung-up client may not do to renderkit.

The first tests are a short seeded slice of bench/chaos.py (loaded from its path: bench/ is not a package), with
the same checks: builds killed by each signal at a point observed in the journal, then rerun until one exits 0
(no create paid twice, every locked file re-hashes, no temp file, no traceback, the key never shown), a few
cells of the fault matrix and two lies. The rest pin what the bench found.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import sys
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest

from renderkit.errors import ProviderError
from renderkit.providers.base import TaskState
from renderkit.providers.download import download_result
from renderkit.providers.http import Limits, Wire
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, manifest_text, statuses
from tests.fixtures.project import Project
from tests.fixtures.waiting import poll

MIB = 1 << 20


def load_bench() -> ModuleType:
    """bench/chaos.py as a module (it runs nothing on import)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"
    spec = importlib.util.spec_from_file_location("renderkit_bench_chaos", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


chaos = load_bench()


@pytest.fixture
def sim(make_simulator: Callable[..., Simulator]) -> Iterator[Any]:
    """A dedicated simulator, steered as the bench steers its own (over HTTP)."""
    handle = chaos.Sim(make_simulator().base_url)
    yield handle
    handle.close()


def scenes(tag: str, count: int, links: tuple[tuple[str, str], ...] = ()) -> tuple[Any, ...]:
    """``count`` scenes, the ones named in ``links`` (id, field) made from scene s0."""
    linked = dict(links)
    return tuple(
        chaos.Scene(f"s{i}", f"{tag} shot {i}", linked.get(f"s{i}"), "s0" if f"s{i}" in linked else None)
        for i in range(count)
    )


KILLS = [
    # Killed when the journal holds 2 task ids, with a lost create (found again through the list route), poll
    # errors and a cut download before or after the kill.
    chaos.KillPlan(
        seed=11,
        signal="SIGKILL",
        trigger="tasks",
        at=2,
        kind="simulator",
        dialect="openai",
        latency=0.6,
        faults=("create:drop-after:@2", "poll:503:@1-3", "content:truncate=0.5:@1"),
        scenes=scenes("kill", 4, (("s3", "remix_of"),)),
    ),
    chaos.KillPlan(
        seed=12,
        signal="SIGTERM",
        trigger="tasks",
        at=2,
        kind="openai",
        dialect="openai",
        latency=0.6,
        faults=("create:429=0.05:@1", "content:drop:@2", "create:503:@4"),
        scenes=scenes("term", 4, (("s3", "extend_of"),)),
    ),
]


@pytest.mark.parametrize("plan", KILLS, ids=lambda plan: f"{plan.signal}-{plan.kind}")
def test_a_killed_build_reruns_to_a_whole_lock_without_paying_twice(sim: Any, plan: Any) -> None:
    result = chaos.kill_trial(sim, plan)
    assert result.signalled, "the build ended before the point it was to be killed at"
    assert result.exit_code == chaos.EXPECTED_EXIT[plan.signal], result.last_err
    assert chaos.kill_bad(result) == [], result.last_err
    audit = result.audit
    assert audit.creates == audit.tasks
    assert audit.requests <= audit.creates <= audit.requests + result.asked_force
    assert audit.unlocked == 0
    assert audit.verify == 0


MATRIX = [
    ("openai", "create", "drop-after", (0, 0)),  # the lost answer is found through the list route
    ("generations", "create", "drop-after", (1, 1)),  # no list route: it asks for --force, and keeps asking
]


@pytest.mark.parametrize(("kind", "where", "fault", "codes"), MATRIX, ids=lambda v: str(v))
def test_a_fault_matrix_cell(sim: Any, kind: str, where: str, fault: str, codes: tuple[int, int]) -> None:
    result = chaos.matrix_cell(sim, chaos.MatrixRow(kind, where, fault), 21)
    assert result.fired >= 1, "the fault never fired"
    assert chaos.matrix_bad(result) == [], result.last_err
    assert result.codes == codes, result.last_err
    assert result.audit.creates == result.scenes
    assert result.audit.verify == 0


@pytest.mark.parametrize("name", ["wrong key, echoed back", "1 GB video body"])
def test_a_lying_provider(sim: Any, name: str) -> None:
    lie = next(lie for lie in chaos.LIES if lie.name == name)
    result = chaos.lie_run(sim, lie, 31)
    assert result.bad == [], result.message
    assert result.code == 1
    assert not result.key_shown
    assert result.rss_mib < 200


@functools.cache
def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MiB of JSON-ish text, gzipped (level 1: about 230 to 1, made in a third of a second)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b"x" * MIB
    return b"".join([packer.compress(b'{"pad":"'), *(packer.compress(chunk) for _ in range(megabytes)), packer.flush()])


class OneChunk(httpx.AsyncByteStream):
    """A body that arrives as a single chunk, as a fast connection delivers a small compressed answer."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body


class Sink:
    """A download sink that keeps only the count and hash of what it was given."""

    def __init__(self) -> None:
        self.offset = 0
        self._digest = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.offset += len(chunk)
        self._digest.update(chunk)

    def reset(self) -> None:
        self.offset = 0


def bomb_answer(request: httpx.Request) -> httpx.Response:
    body = gzip_bomb(64)
    headers = {"content-encoding": "gzip", "content-length": str(len(body)), "content-type": "application/json"}
    return httpx.Response(200, headers=headers, stream=OneChunk(body))


def peak_mib(run: object) -> float:
    """Peak Python memory (MiB) while ``anyio.run(run)`` ran."""
    tracemalloc.start()
    try:
        anyio.run(run)  # type: ignore[arg-type]  # an async function of no arguments
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("route", ["poll", "content"])
def test_a_gzip_bomb_is_refused_a_bounded_piece_at_a_time(route: str) -> None:
    # 64 MiB inflated from 280 kB that arrive in one chunk: reading it must cost about the 8 MiB answer cap (JSON)
    # or the max_download_mb cap (video, 5 MiB here), never the whole bomb at once.
    failures: list[ProviderError] = []

    async def fetch() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(bomb_answer)) as client:
            limits = Limits(max_download_bytes=5 * MIB)
            wire = Wire(
                "http://provider.test", "sk-chaos-0123456789", client, provider="p", key_env="P_KEY", limits=limits
            )
            try:
                if route == "poll":
                    await wire.call("GET", "/v1/videos/v1", op="read")
                else:
                    state = TaskState(task_id="v1", status="completed", raw_status="completed")
                    await download_result(wire, state, Sink(), content_path="/v1/videos/v1/content")
            except ProviderError as exc:
                failures.append(exc)

    gzip_bomb(64)  # made before measuring
    peak = peak_mib(fetch)
    assert len(failures) == 1
    assert ("more than 8 MiB" if route == "poll" else "larger than 5 MiB (max_download_mb)") in str(failures[0])
    assert peak < 24, f"reading the bomb held {peak:.0f} MiB at once"


def encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return zlib.compress(body, wbits=zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.compress(body)
    return zlib.compress(body, wbits=-zlib.MAX_WBITS)  # raw deflate, without the zlib header


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_an_honest_compressed_answer_reads_as_before(encoding: str) -> None:
    task = b'{"id": "video_1", "status": "in_progress", "progress": 40, "pad": "' + b"y" * 3 * MIB + b'"}'

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip, deflate"
        header = "deflate" if encoding == "raw-deflate" else encoding
        return httpx.Response(200, headers={"content-encoding": header}, stream=OneChunk(encode(task, encoding)))

    bodies = []

    async def poll() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            wire = Wire("http://provider.test", "sk-chaos-0123456789", client, provider="p", key_env="P_KEY")
            bodies.append((await wire.call("GET", "/v1/videos/video_1", op="read"))[0])

    anyio.run(poll)
    assert bodies[0]["status"] == "in_progress"
    assert len(bodies[0]["pad"]) == 3 * MIB


@pytest.mark.parametrize("kind", ["simulator", "generations"])
def test_a_timeout_while_a_paid_create_is_unanswered_does_not_say_nothing_was_paid(
    simulator: Simulator,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    # The simulator records and charges the create, then sends its answer a byte every 10 ms (seconds in all):
    # the provider's 1 s timeout ends the scene while the paid create is still unanswered.
    monkeypatch.setenv("SIM_API_KEY", KEY)
    simulator.add_fault("create:trickle=0.01:@1")
    project.gen(
        {
            "renderkit.yaml": manifest_text(
                simulator, [("intro", "A paper boat")], kind=kind, provider_extra="timeout: 1"
            )
        }
    )
    code, report, err = build(project, capsys)
    assert code == 1
    assert statuses(report) == {"intro": "failed"}
    assert simulator.ledger()["creates"] == 1, "the create was paid for"
    assert "nothing was paid" not in err
    assert "may have reached the provider and been paid for" in err
    code, report, err = build(project, capsys)
    assert simulator.ledger()["creates"] == 1, "the rerun did not send it again blindly"
    if kind == "simulator":
        assert (code, statuses(report)) == (0, {"intro": "rendered"})
        assert "recovered task" in err
    else:
        assert code == 1
        assert "--force intro" in err


def settled(sim: Simulator) -> None:
    """Wait (with a deadline) until the simulator has no request left in hand."""
    server = sim._server
    assert server is not None
    poll(
        lambda: len(server.server_state.tasks),
        lambda busy: busy == 0,
        what="the simulator done with the hung-up client",
    )


def test_an_endless_answer_ends_when_the_client_hangs_up(make_simulator: Callable[..., Simulator]) -> None:
    sim = make_simulator()
    sim.add_fault("list:endless")
    with sim.client(KEY) as client, client.stream("GET", "/v1/videos") as response:
        assert response.status_code == 200
        assert next(response.iter_raw())  # zeros, chunk after chunk; then the client hangs up
    settled(sim)  # before: the simulator streamed zeros into the closed socket, a core busy until it stopped


@pytest.mark.parametrize(
    ("faults", "method", "path"),
    [
        (("poll:slow=0.5:@1", "poll:drop-after:@1"), "GET", "/v1/videos/video_1"),  # drops a connection already gone
        (("create:slow=0.5:@1",), "POST", "/v1/videos"),  # reads the body of a client already gone
    ],
)
def test_a_client_that_hangs_up_mid_request_is_no_error(
    make_simulator: Callable[..., Simulator],
    caplog: pytest.LogCaptureFixture,
    faults: tuple[str, ...],
    method: str,
    path: str,
) -> None:
    sim = make_simulator()
    for fault in faults:
        sim.add_fault(fault)
    with caplog.at_level(logging.ERROR, logger="renderkit.simulator"), sim.client(KEY, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.request(method, path, json={"prompt": "p", "model": "sora-2", "size": "1280x720", "seconds": "4"})
        settled(sim)  # the request arrived before the client gave up, so it is in hand until the handler ends
    assert [r.getMessage() for r in caplog.records if r.name.startswith("renderkit.simulator")] == []
