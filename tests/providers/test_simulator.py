"""Every adapter over real HTTP on 127.0.0.1 against the simulator, in every response dialect."""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.lowlevel
import httpx
import pytest
from PIL import Image

from renderkit.catalog.kinds import KINDS
from renderkit.errors import ProviderError
from renderkit.ops.httpcore_patches import receive_in_large_reads
from renderkit.providers.base import CreateRequest, ImageInput, Provider, TaskState
from renderkit.providers.openai import PAGE
from renderkit.providers.registry import open_provider
from renderkit.providers.tls import tls_context
from renderkit.request import Shot
from renderkit.simulator import DIALECTS, Simulator
from tests.providers.requests import create
from tests.providers.sinks import MemorySink

KEY = "sk-provider-tests-7f3a"
SMALL = create(model="sora-2", prompt="a paper boat on a rainy street", size="160x96", seconds=1)
FAMILY_ROUTE = {
    "openai": "POST /v1/videos",
    "simulator": "POST /v1/videos",
    "generations": "POST /v1/video/generations",
    "unified": "POST /v1/video/create",
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15, verify=tls_context()) as c:
        yield c


def connect(kind: str, sim: Simulator, client: httpx.AsyncClient, key: str = KEY) -> Provider:
    return open_provider(kind, base_url=sim.base_url + "/v1", api_key=key, client=client, name="sim")


async def finish(provider: Provider, state: TaskState) -> TaskState:
    """Poll until the task is done, pausing only as long as the server's poll-after asks."""
    with anyio.fail_after(20):
        while state.status in ("queued", "running"):
            assert state.poll_after is not None, "a pending task should carry openai-poll-after-ms"
            await anyio.sleep(state.poll_after)
            state = await provider.poll(state.task_id)
    return state


async def render(provider: Provider, request: CreateRequest = SMALL) -> tuple[TaskState, bytes]:
    state = await finish(provider, await provider.create(request))
    assert state.status == "completed", state
    sink = MemorySink()
    await provider.download(state, sink)
    return state, bytes(sink.data)


def is_mp4(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and b"moov" in data


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_create_poll_download(simulator: Simulator, client: httpx.AsyncClient, kind: str, dialect: str) -> None:
    simulator.configure(dialect=dialect)
    provider = connect(kind, simulator, client)
    _, data = await render(provider)
    assert is_mp4(data)
    ledger = simulator.ledger()
    assert ledger["creates"] == 1
    assert ledger["requests"][FAMILY_ROUTE[kind]] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai", "generations"])
async def test_local_image_is_uploaded(simulator: Simulator, client: httpx.AsyncClient, kind: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 96), "orange").save(buffer, format="PNG")
    request = create(
        model="sora-2", prompt="it comes alive", size="160x96", seconds=1, image=ImageInput(data=buffer.getvalue())
    )
    _, data = await render(connect(kind, simulator, client), request)
    assert is_mp4(data)


@pytest.mark.anyio
async def test_image_url_on_unified(simulator: Simulator, client: httpx.AsyncClient) -> None:
    image = ImageInput(url="https://img.example/ref.png")
    request = create(model="veo-3.1-fast", prompt="wind", size="160x96", seconds=1, image=image)
    _, data = await render(connect("unified", simulator, client), request)
    assert is_mp4(data)


@pytest.mark.anyio
async def test_storyboard_renders_one_video_of_all_shots(simulator: Simulator, client: httpx.AsyncClient) -> None:
    request = create(
        model="sora-2", prompt="forest", size="160x96", seconds=2, storyboard=(Shot("dawn", 1), Shot("deer", 1))
    )
    state, data = await render(connect("openai", simulator, client), request)
    assert is_mp4(data)
    assert state.extra["seconds"] == "2"
    assert simulator.ledger()["paid_seconds"] == 2


@pytest.mark.anyio
async def test_remix_starts_a_new_task_from_a_finished_one(simulator: Simulator, client: httpx.AsyncClient) -> None:
    provider = connect("openai", simulator, client)
    source, _ = await render(provider)
    remix = create(model="sora-2", prompt="now at night", size="160x96", seconds=1, remix_of=source.task_id)
    state, data = await render(provider, remix)
    assert state.task_id != source.task_id
    assert state.extra["remixed_from_video_id"] == source.task_id
    assert is_mp4(data)


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["openai", "envelope"])
@pytest.mark.parametrize("kind", ["openai", "generations", "unified"])
async def test_bad_key_names_the_variable(
    simulator: Simulator, client: httpx.AsyncClient, kind: str, dialect: str
) -> None:
    simulator.configure(dialect=dialect, api_keys=("sk-the-right-one",))
    provider = open_provider(
        kind, base_url=simulator.base_url, api_key=KEY, client=client, name="sim", api_key_env="SIM_KEY"
    )
    with pytest.raises(ProviderError, match=r"Check the API key in \$SIM_KEY") as info:
        await provider.create(SMALL)
    assert (info.value.status, info.value.retryable, info.value.maybe_sent) == (401, False, False)
    assert KEY not in str(info.value)
    assert simulator.ledger()["creates"] == 0


@pytest.mark.anyio
async def test_rate_limited_create_is_retryable_and_unpaid(simulator: Simulator, client: httpx.AsyncClient) -> None:
    simulator.configure(rpm=1)
    provider = connect("generations", simulator, client)
    await provider.create(SMALL)
    with pytest.raises(ProviderError) as info:
        await provider.create(SMALL)
    err = info.value
    assert (err.status, err.retryable, err.maybe_sent) == (429, True, False)
    assert err.retry_after is not None
    assert 0 < err.retry_after <= 60
    assert simulator.ledger()["creates"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai", "generations", "unified"])
async def test_server_error_on_create_may_have_been_paid(
    simulator: Simulator, client: httpx.AsyncClient, kind: str
) -> None:
    simulator.add_fault("create:503:@1")
    with pytest.raises(ProviderError) as info:
        await connect(kind, simulator, client).create(SMALL)
    assert (info.value.status, info.value.maybe_sent, info.value.retryable) == (503, True, False)


@pytest.mark.anyio
async def test_connection_dropped_after_a_charged_create_is_maybe_sent(
    simulator: Simulator, client: httpx.AsyncClient
) -> None:
    simulator.add_fault("create:drop-after:@1")
    with pytest.raises(ProviderError, match="may have started") as info:
        await connect("openai", simulator, client).create(SMALL)
    assert (info.value.maybe_sent, info.value.retryable) == (True, False)
    assert not isinstance(info.value, httpx.HTTPError), "no httpx type leaves the provider layer"
    # The simulator did charge it: exactly why renderkit must not send it again.
    assert simulator.ledger()["creates"] == 1


@pytest.mark.anyio
async def test_create_that_times_out_waiting_for_the_answer_is_maybe_sent(simulator: Simulator) -> None:
    simulator.add_fault("create:slow=0.5:@1")
    async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.1)) as impatient:
        with pytest.raises(ProviderError, match="ReadTimeout") as info:
            await connect("generations", simulator, impatient).create(SMALL)
    assert (info.value.maybe_sent, info.value.retryable) == (True, False)
    # Let the slow handler finish so it cannot touch the next test's simulator state.
    simulator.wait_for(lambda ledger: sum(ledger["responses"].values()) == 1, timeout=5)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kind", "fault", "status"),
    [("openai", "poll:drop:@1", None), ("unified", "poll:502:@1", 502), ("generations", "poll:429:@1", 429)],
)
async def test_failed_poll_is_retryable(
    simulator: Simulator, client: httpx.AsyncClient, kind: str, fault: str, status: int | None
) -> None:
    provider = connect(kind, simulator, client)
    state = await provider.create(SMALL)
    simulator.add_fault(fault)
    with pytest.raises(ProviderError) as info:
        await provider.poll(state.task_id)
    assert (info.value.status, info.value.retryable, info.value.maybe_sent) == (status, True, False)
    assert (await provider.poll(state.task_id)).task_id == state.task_id


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.anyio
async def test_refused_connection_was_never_sent(client: httpx.AsyncClient, closed_port: int) -> None:
    provider = open_provider(
        "openai", base_url=f"http://127.0.0.1:{closed_port}", api_key=KEY, client=client, name="down"
    )
    with pytest.raises(ProviderError, match="could not connect") as info:
        await provider.create(SMALL)
    assert (info.value.retryable, info.value.maybe_sent) == (True, False)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai", "generations"])
async def test_truncated_download_resumes_with_range(
    simulator: Simulator, client: httpx.AsyncClient, kind: str
) -> None:
    simulator.configure(pad_to=300_000)
    provider = connect(kind, simulator, client)
    state = await finish(provider, await provider.create(SMALL))
    simulator.add_fault("content:truncate=0.4:@1")
    sink = MemorySink()
    with pytest.raises(ProviderError, match="resumes") as info:
        await provider.download(state, sink)
    assert info.value.retryable
    held = sink.offset
    assert 0 < held < 300_000
    await provider.download(state, sink)
    assert sink.resets == 0
    # The simulator counts a response once it is sent, which can be just after the client has read it.
    simulator.wait_for(lambda ledger: ledger["responses"].get("206") == 1, timeout=5)
    whole = MemorySink()
    await provider.download(state, whole)
    assert bytes(sink.data) == bytes(whole.data)
    assert len(whole.data) == 300_000
    assert is_mp4(bytes(whole.data))


class PieceSizes(MemorySink):
    """A MemorySink that remembers the largest piece it was handed."""

    largest = 0

    def write(self, chunk: bytes) -> None:
        self.largest = max(self.largest, len(chunk))
        super().write(chunk)


@pytest.mark.anyio
async def test_downloads_are_received_in_reads_larger_than_httpcore_and_asyncio_make(
    simulator: Simulator, client: httpx.AsyncClient
) -> None:
    simulator.configure(pad_to=8 << 20)
    provider = connect("openai", simulator, client)
    state = await finish(provider, await provider.create(SMALL))
    receive_in_large_reads()
    sink = PieceSizes()
    await provider.download(state, sink)
    assert len(sink.data) == 8 << 20
    assert is_mp4(bytes(sink.data))
    assert sink.largest > 256 * 1024, "httpcore's own reads stop at 64 KiB, asyncio's at 256 KiB"


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["openai", "taskdto"])
async def test_expired_result_says_the_provider_lost_it(
    simulator: Simulator, client: httpx.AsyncClient, dialect: str
) -> None:
    simulator.configure(dialect=dialect)
    provider = connect("generations", simulator, client)
    state = await finish(provider, await provider.create(SMALL))
    simulator.advance(simulator.config.ttl + 1)
    with pytest.raises(ProviderError, match="no longer has the video") as info:
        await provider.download(state, MemorySink())
    assert (info.value.expired, info.value.retryable, info.value.status) == (True, False, 410)


@pytest.mark.anyio
async def test_failed_job_reports_the_reason(simulator: Simulator, client: httpx.AsyncClient) -> None:
    simulator.add_fault("create:fail=moderation_blocked:@1")
    provider = connect("openai", simulator, client)
    state = await finish(provider, await provider.create(SMALL))
    assert (state.status, state.error_code) == ("failed", "moderation_blocked")
    assert state.error is not None
    assert "moderation" in state.error


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "raw"), [("openai", "unknown"), ("envelope", "NOT_START")])
async def test_a_task_not_started_reads_as_queued(
    simulator: Simulator, client: httpx.AsyncClient, dialect: str, raw: str
) -> None:
    simulator.configure(dialect=dialect, status_lag=30)
    provider = connect("openai", simulator, client)
    state = await provider.poll((await provider.create(SMALL)).task_id)
    assert (state.status, state.raw_status) == ("queued", raw)


@pytest.mark.anyio
@pytest.mark.parametrize(("kind", "code"), [("openai", "not_found"), ("generations", "task_not_exist")])
async def test_unknown_task_is_not_retryable(
    simulator: Simulator, client: httpx.AsyncClient, kind: str, code: str
) -> None:
    with pytest.raises(ProviderError, match="no such task") as info:
        await connect(kind, simulator, client).poll("task_does_not_exist")
    assert (info.value.code, info.value.retryable) == (code, False)


@pytest.mark.anyio
async def test_list_tasks_finds_what_was_created(simulator: Simulator, client: httpx.AsyncClient) -> None:
    provider = connect("openai", simulator, client)
    first = await provider.create(SMALL)
    second = await provider.create(SMALL)
    since = first.extra["created_at"]
    assert isinstance(since, int)
    found = await provider.list_tasks(since)
    assert [s.task_id for s in found] == [second.task_id, first.task_id]
    assert found[0].extra["prompt"] == SMALL.render.prompt
    assert await provider.list_tasks(since + 3600) == []


@pytest.mark.anyio
async def test_list_tasks_pages_past_one_hundred(simulator: Simulator, client: httpx.AsyncClient) -> None:
    provider = connect("openai", simulator, client)
    created = [await provider.create(SMALL) for _ in range(PAGE + 1)]
    found = await provider.list_tasks(0)
    assert [s.task_id for s in found] == [s.task_id for s in reversed(created)]
    assert simulator.ledger()["requests"]["GET /v1/videos"] == 2
