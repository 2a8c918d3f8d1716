"""Paid once on every machine: clones, CI runners and shards share renders through the remote, or through the
outputs the lock pins; the simulator's ledger and the S3 server's request log prove what was paid and sent."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from renderkit.cli import main
from renderkit.manifest.load import load_manifest
from renderkit.ops.build import Build, BuildOptions
from renderkit.plan.plan import make_plan
from renderkit.plan.policy import shard_of
from renderkit.plan.state import open_state
from renderkit.simulator import Simulator
from renderkit.store.lockfile import read_lock
from tests.builds.helpers import KEY, SCENES, manifest_text, statuses
from tests.fixtures.s3 import S3Bucket
from tests.remote.helpers import Clones, build_json

SIX = [(f"s{i}", f"Shot number {i} of the harbour") for i in range(6)]


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


@pytest.fixture(params=["s3", "file"])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh remote of each kind, reached through RENDERKIT_REMOTE and the AWS_* variables."""
    if request.param == "file":
        url = (tmp_path / "remote").as_uri()
    else:
        bucket: S3Bucket = request.getfixturevalue("s3_remote")
        for name, value in bucket.environ.items():
            monkeypatch.setenv(name, value)
        url = bucket.url()
    monkeypatch.setenv("RENDERKIT_REMOTE", url)
    return url


def test_a_second_clone_pays_nothing_and_writes_the_same_lock(
    simulator: Simulator, clones: Clones, remote_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = clones.new(manifest_text(simulator, SCENES))
    code, report, err = build_json(first, capsys)
    assert code == 0, err
    assert simulator.ledger()["creates"] == 3
    lock = first.path("renderkit.lock").read_bytes()
    second = clones.clone(first)  # the manifest and the lock, as git would give them: no cache, no renders
    before = simulator.ledger()["requests"]
    code, report, err = build_json(second, capsys, "--frozen")
    assert code == 0, err
    assert set(statuses(report).values()) == {"cached"}
    assert {s["reason"] for s in report["scenes"]} == {"pulled from the remote"}
    assert simulator.ledger()["requests"] == before, "nothing reached the provider"
    assert second.path("renderkit.lock").read_bytes() == lock
    assert main(["verify", str(second.path("renderkit.yaml"))]) == 0
    third = clones.clone(first)
    assert build_json(third, capsys)[0] == 0
    assert simulator.ledger()["creates"] == 3
    assert third.path("renderkit.lock").read_bytes() == lock


def test_a_clone_with_committed_outputs_builds_frozen_with_no_cache_and_no_remote(
    simulator: Simulator, clones: Clones, capsys: pytest.CaptureFixture[str]
) -> None:
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0
    second = clones.clone(first, outputs=True)
    before = simulator.ledger()["requests"]
    code, report, err = build_json(second, capsys, "--frozen")
    assert code == 0, err
    assert {s["reason"] for s in report["scenes"]} == {"adopted: the output is the file the lock pins"}
    assert simulator.ledger()["requests"] == before
    assert main(["plan", str(second.path("renderkit.yaml"))]) == 0
    assert "3 cached" in capsys.readouterr().err
    # An output edited by hand is not what the lock pins: it is not adopted, and --frozen says why.
    third = clones.clone(first, outputs=True)
    third.path("renders/intro.mp4").write_bytes(b"edited")
    code, _, err = build_json(third, capsys, "--frozen")
    assert code == 3
    assert "available neither in the cache, nor as the outputs the lock pins, nor on the remote" in err
    assert simulator.ledger()["requests"] == before


def test_frozen_says_when_the_lock_is_stale(
    simulator: Simulator, clones: Clones, capsys: pytest.CaptureFixture[str]
) -> None:
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0
    edited = [(i, p + " at night" if i == "outro" else p) for i, p in SCENES]
    first.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    code, _, err = build_json(first, capsys, "--frozen")
    assert code == 3
    assert "renderkit.lock is stale: the manifest changed for 1 scene(s) (outro)" in err


def test_a_tampered_remote_blob_never_reaches_the_outputs(
    simulator: Simulator,
    clones: Clones,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote = tmp_path / "remote"
    monkeypatch.setenv("RENDERKIT_REMOTE", remote.as_uri())
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0
    lock = read_lock(first.path("renderkit.lock"))
    assert lock is not None
    blob = next(remote.rglob(lock.entries["intro"].sha256))
    blob.write_bytes(blob.read_bytes()[:-1] + b"X")
    second = clones.clone(first)
    code, report, err = build_json(second, capsys)
    assert code == 0, err
    assert statuses(report)["intro"] == "rendered", "the tampered render was paid again, never used"
    assert statuses(report)["skyline"] == "cached"
    assert "failed its sha256 check" in err
    data = second.path("renders/intro.mp4").read_bytes()
    assert hashlib.sha256(data).hexdigest() != lock.entries["intro"].sha256
    assert simulator.ledger()["creates"] == 4


def test_with_a_signing_key_unsigned_and_forged_records_are_misses(
    simulator: Simulator,
    clones: Clones,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RENDERKIT_REMOTE", (tmp_path / "unsigned").as_uri())
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0  # pushed without a key: unsigned records
    monkeypatch.setenv("RENDERKIT_REMOTE_SIGNING_KEY", "team-secret-for-records")
    code, _, err = build_json(clones.clone(first), capsys, "--frozen")
    assert code == 3, "an unsigned record is not trusted with a key"
    assert err.count("is not signed") == 3
    assert "team-secret-for-records" not in err
    # The same team with the key from the start: signed records are trusted, a forged one is not.
    signed = tmp_path / "signed"
    monkeypatch.setenv("RENDERKIT_REMOTE", signed.as_uri())
    assert build_json(first, capsys)[0] == 0  # pushes signed records of what is cached
    assert build_json(clones.clone(first), capsys, "--frozen")[0] == 0
    record = next(signed.rglob("*.json"))
    doc = json.loads(record.read_text())
    doc["payload"]["task_id"] = "video_forged"
    record.write_text(json.dumps(doc))
    code, _, err = build_json(clones.clone(first), capsys, "--frozen")
    assert code == 3
    assert "signature" in err
    assert simulator.ledger()["creates"] == 3


def test_read_only_remote_sends_no_write(
    simulator: Simulator,
    clones: Clones,
    s3_remote: S3Bucket,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in s3_remote.environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RENDERKIT_REMOTE", s3_remote.url())
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0
    writes = len(s3_remote.writes())
    assert writes > 0
    monkeypatch.setenv("RENDERKIT_REMOTE_MODE", "r")
    edited = [(i, p + " again" if i == "outro" else p) for i, p in SCENES]
    second = clones.clone(first)
    second.gen({"renderkit.yaml": manifest_text(simulator, edited)})
    code, report, err = build_json(second, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "cached", "skyline": "cached", "outro": "rendered"}
    assert len(s3_remote.writes()) == writes, "mode r pulled but never wrote"
    assert simulator.ledger()["creates"] == 4


@pytest.fixture
def closed_remote(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-secret-access-key-value")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    return "s3://down-bucket/cache"


class _Answer500(http.server.BaseHTTPRequestHandler):
    def _fail(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_HEAD = do_POST = _fail

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def failing_remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-secret-access-key-value")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield "s3://failing-bucket/cache"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.mark.parametrize("which", ["closed_remote", "failing_remote", "garbage"])
def test_a_broken_remote_is_said_once_and_the_build_finishes_locally(
    simulator: Simulator,
    clones: Clones,
    which: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if which == "garbage":
        remote = tmp_path / "remote"
        for key_dir in ("records/ab", "blobs/cd"):
            (remote / key_dir).mkdir(parents=True)
        (remote / "records" / "ab" / ("ab" * 32 + ".json")).write_bytes(b"\x00garbage{")
        (remote / "blobs" / "cd" / ("cd" * 32)).write_bytes(b"not a video")
        url = remote.as_uri()
    else:
        url = request.getfixturevalue(which)
    monkeypatch.setenv("RENDERKIT_REMOTE", url)
    project = clones.new(manifest_text(simulator, SCENES))
    code, report, err = build_json(project, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"rendered"}
    assert simulator.ledger()["creates"] == 3
    assert "Traceback" not in err
    assert "the-secret-access-key-value" not in err
    if which != "garbage":
        assert err.count("went on without the remote") == 1, err
        assert "renderkit push" in err


def test_four_shards_at_once_pay_once_per_scene_and_a_frozen_build_assembles_them(
    simulator: Simulator,
    clones: Clones,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RENDERKIT_REMOTE", (tmp_path / "remote").as_uri())
    scenes = [(f"s{i:02}", f"Shot {i} of the harbour at dawn") for i in range(12)]
    text = (
        manifest_text(simulator, scenes)
        + "\n".join(f"  - {{id: long{i}, prompt: Long take {i}, seconds: 12}}" for i in range(3))
        + "\n"
    )
    machines = [clones.new(text) for _ in range(4)]
    errors: list[BaseException] = []

    def shard(k: int) -> None:
        try:
            report = Build(machines[k - 1].path("renderkit.yaml"), BuildOptions(shard=(k, 4))).run()
            assert not report.failed
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=shard, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert simulator.ledger()["creates"] == 15, "exactly one create per scene across the shards"
    manifest = load_manifest(machines[0].path("renderkit.yaml"))
    plan = make_plan(manifest, open_state(manifest, {}, tmp_path / "empty-cache"))
    costs = [
        sum(i.price_usd or 0 for i in plan.items if i.scene.id in shard_of(plan, (k, 4), None)) for k in range(1, 5)
    ]
    assert max(costs) - min(costs) <= max(i.price_usd or 0 for i in plan.items) + 1e-9
    final = clones.clone(machines[0], lock=False)
    code, report, err = build_json(final, capsys)
    assert code == 0, err
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["creates"] == 15
    code, _, err = build_json(final, capsys, "--frozen")
    assert code == 0, err
    lock = read_lock(final.path("renderkit.lock"))
    assert lock is not None
    assert len(lock.entries) == 15


def test_bundles_are_byte_reproducible_and_verify_finds_a_flipped_byte(
    simulator: Simulator, clones: Clones, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0
    manifest = str(first.path("renderkit.yaml"))
    assert main(["bundle", manifest]) == 0
    one = first.path("renderkit.bundle.zip").read_bytes()
    other = clones.clone(first, outputs=True)
    assert main(["bundle", str(other.path("renderkit.yaml")), "--out", str(tmp_path / "b.zip")]) == 0
    assert (tmp_path / "b.zip").read_bytes() == one, "the same lock and renders give the same bytes anywhere"
    assert main(["verify", str(tmp_path / "b.zip")]) == 0
    capsys.readouterr()
    flipped = bytearray(one)
    flipped[len(flipped) // 2] ^= 0x01
    (tmp_path / "bad.zip").write_bytes(bytes(flipped))
    assert main(["verify", str(tmp_path / "bad.zip")]) == 1
    assert "MISMATCH" in capsys.readouterr().err
    first.path("renders/skyline.mp4").write_bytes(b"edited")
    assert main(["bundle", manifest, "--out", str(tmp_path / "c.zip")]) == 1
    assert "not the file the lock pins" in capsys.readouterr().err
    assert not (tmp_path / "c.zip").exists()


def test_push_and_pull_move_what_the_lock_names(
    simulator: Simulator,
    clones: Clones,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = clones.new(manifest_text(simulator, SCENES))
    assert build_json(first, capsys)[0] == 0  # no remote yet
    monkeypatch.setenv("RENDERKIT_REMOTE", (tmp_path / "remote").as_uri())
    assert main(["push", str(first.path("renderkit.yaml"))]) == 0
    assert "3 pushed" in capsys.readouterr().err
    assert main(["push", str(first.path("renderkit.yaml"))]) == 0
    assert "0 pushed, 3 already on the remote" in capsys.readouterr().err
    second = clones.clone(first)
    assert main(["pull", str(second.path("renderkit.yaml"))]) == 0
    assert "3 pulled" in capsys.readouterr().err
    assert main(["verify", str(second.path("renderkit.yaml"))]) == 0
    assert simulator.ledger()["creates"] == 3
    shutil.rmtree(tmp_path / "remote")
