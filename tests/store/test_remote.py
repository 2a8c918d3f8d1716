"""The remote cache against moto's S3 server and a file:// directory: records, blobs, trust, modes, failures."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from renderkit.errors import InputError, RenderkitError
from renderkit.store import remote as remote_module
from renderkit.store.remote import Mode, Remote, RemoteConfig, RemoteError
from tests.fixtures.s3 import Request, S3Bucket

KEY = "ab" + "0" * 62
OTHER_KEY = "cd" + "1" * 62
PAYLOAD = b'{"a":1,"b":[true,null,"x"]}'
SIGNING_KEY = b"team-signing-key-\xc3\xa9"
SECRET = "rk-test-SECRET-9f3c1a"
TOKEN = "rk-test-TOKEN-77e0b2"
SIGNING_SECRET = "rk-test-SIGNKEY-41d5"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_path(key: str) -> str:
    return f"records/{key[:2]}/{key}.json"


def blob_path(digest: str) -> str:
    return f"blobs/{digest[:2]}/{digest}"


@pytest.fixture(autouse=True)
def no_aws_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """obstore also reads AWS_* from the process environment: remove them so no test can reach real AWS."""
    for name in list(os.environ):
        if name.upper().startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)


@dataclass
class Backend:
    """One kind of remote under test, with raw access that bypasses ``Remote`` (to tamper, or to look)."""

    kind: str
    url: str
    environ: dict[str, str]
    write_raw: Callable[[str, bytes], None]
    read_raw: Callable[[str], bytes]
    footprint: Callable[[], object]
    """Something that changes whenever anything is written: S3's logged write requests, or the file tree."""

    def remote(self, mode: Mode = "rw", signing_key: bytes | None = None) -> Remote:
        return Remote(RemoteConfig(url=self.url, mode=mode, signing_key=signing_key), self.environ)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))} | {
        ".": (0, root.stat().st_mtime_ns)
    }


@pytest.fixture(params=["s3", "file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_remote")
        raw = bucket.raw_store()

        def s3_write(path: str, data: bytes) -> None:
            raw.put(path, data)

        return Backend(
            kind="s3",
            url=bucket.url(),
            environ=bucket.environ,
            write_raw=s3_write,
            read_raw=lambda path: bytes(raw.get(path).bytes()),
            footprint=bucket.writes,
        )
    root = tmp_path / "remote"
    root.mkdir()

    def file_write(path: str, data: bytes) -> None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    return Backend(
        kind="file",
        url=root.as_uri(),
        environ={},
        write_raw=file_write,
        read_raw=lambda path: (root / path).read_bytes(),
        footprint=lambda: _tree(root),
    )


# records


def test_record_round_trip_returns_the_canonical_payload(backend: Backend) -> None:
    remote = backend.remote()
    assert remote.get_record(KEY) is None
    assert remote.put_record(KEY, b'{ "b": [true, null, "x"],\n  "a": 1 }') is True
    assert remote.get_record(KEY) == PAYLOAD  # canonical: sorted keys, no spaces
    assert backend.remote(mode="r").get_record(KEY) == PAYLOAD
    assert list(remote.list_records()) == [KEY]
    assert remote.warnings == []


def test_record_object_is_readable_json(backend: Backend) -> None:
    backend.remote().put_record(KEY, PAYLOAD)
    doc = json.loads(backend.read_raw(record_path(KEY)))
    assert doc == {"format": 1, "key": KEY, "payload": {"a": 1, "b": [True, None, "x"]}, "sig": None}


def test_canonical_form_keeps_unicode_and_numbers_stable(backend: Backend) -> None:
    remote = backend.remote()
    payload = json.dumps({"z": "é ✓", "f": 0.1, "big": 10**30, "neg": -0.0}).encode()
    remote.put_record(KEY, payload)
    got = remote.get_record(KEY)
    assert got == json.dumps(json.loads(payload), sort_keys=True, separators=(",", ":")).encode()
    assert got is not None
    assert json.loads(got) == json.loads(payload)


def test_second_put_record_does_not_overwrite(backend: Backend) -> None:
    first, second = backend.remote(), backend.remote()  # two machines
    assert first.put_record(KEY, b'{"by":"first"}') is True
    assert second.put_record(KEY, b'{"by":"second"}') is False
    assert second.get_record(KEY) == b'{"by":"first"}'
    assert json.loads(backend.read_raw(record_path(KEY)))["payload"] == {"by": "first"}


def test_s3_records_and_small_blobs_are_put_with_if_none_match(s3_remote: S3Bucket, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"small")
    remote = Remote(RemoteConfig(s3_remote.url(), "rw", None), s3_remote.environ)
    assert remote.put_record(KEY, PAYLOAD) is True
    assert remote.put_record(KEY, b'{"late":true}') is False
    assert remote.push_blob(sha(b"small"), src) is True
    puts = [r for r in s3_remote.writes() if r.method == "PUT" and r.target != f"/{s3_remote.name}"]
    assert (
        [(r.target.rsplit("/", 2)[-2], r.if_none_match) for r in puts]
        == [
            (KEY[:2], "*"),
            (KEY[:2], "*"),  # answered 412 Precondition Failed by moto: the first record stays
            (sha(b"small")[:2], "*"),
        ]
    )


def test_racing_put_records_have_one_winner(backend: Backend) -> None:
    remotes = [backend.remote() for _ in range(6)]
    barrier = threading.Barrier(len(remotes))
    results: dict[int, bool] = {}

    def put(i: int) -> None:
        barrier.wait(timeout=10)
        results[i] = remotes[i].put_record(KEY, json.dumps({"writer": i}, separators=(",", ":")).encode())

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(remotes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == list(range(len(remotes)))
    winners = [i for i, won in results.items() if won]
    assert len(winners) == 1
    assert remotes[0].get_record(KEY) == json.dumps({"writer": winners[0]}, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\x00\xffnot json", id="not-json"),
        pytest.param(b"[1, 2]", id="list"),
        pytest.param(b'{"format": 2, "key": "KEY", "payload": {}, "sig": null}', id="format-2"),
        pytest.param(b'{"format": true, "key": "KEY", "payload": {}, "sig": null}', id="format-true"),
        pytest.param(b'{"format": 1, "key": "KEY", "payload": [], "sig": null}', id="payload-list"),
        pytest.param(b'{"format": 1, "key": "KEY", "payload": {}}', id="no-sig"),
        pytest.param(b'{"format": 1, "key": "KEY", "payload": {}, "sig": 7}', id="sig-number"),
        pytest.param(b'{"format": 1, "key": "OTHER", "payload": {}, "sig": null}', id="other-key"),
        pytest.param(b'{"format": 1, "key": "KEY", "payload": {"x": NaN}, "sig": null}', id="nan"),
        pytest.param(b'{"format": 1, "key": "KEY", "payload": {"x": 1e999}, "sig": null}', id="infinite"),
        pytest.param(b"[" * 100_000, id="deep"),
    ],
)
def test_garbage_record_reads_as_absent_with_a_warning(backend: Backend, raw: bytes) -> None:
    backend.write_raw(record_path(KEY), raw.replace(b"OTHER", OTHER_KEY.encode()).replace(b"KEY", KEY.encode()))
    remote = backend.remote()
    assert remote.get_record(KEY) is None
    assert remote.warnings == [f"remote record {KEY} is not a valid renderkit record; ignored"]


def test_oversized_record_is_not_read(backend: Backend) -> None:
    backend.write_raw(record_path(KEY), b" " * (remote_module.MAX_RECORD_BYTES + 1))
    remote = backend.remote()
    assert remote.get_record(KEY) is None
    assert "larger than" in remote.warnings[0]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1]",
        b'"text"',
        b"",
        b'{"x": NaN}',
        b'{"x": Infinity}',
        b'{"x": 1e999}',
        b'{"x": "' + b"y" * remote_module.MAX_RECORD_BYTES + b'"}',
    ],
)
def test_put_record_refuses_a_payload_that_is_not_a_json_object(backend: Backend, payload: bytes) -> None:
    remote = backend.remote()
    with pytest.raises(ValueError, match="a record"):
        remote.put_record(KEY, payload)
    assert remote.get_record(KEY) is None


# signing


def test_signed_record_round_trip(backend: Backend) -> None:
    writer = backend.remote(signing_key=SIGNING_KEY)
    assert writer.put_record(KEY, PAYLOAD) is True
    doc = json.loads(backend.read_raw(record_path(KEY)))
    assert isinstance(doc["sig"], str)
    assert len(doc["sig"]) == 64
    reader = backend.remote(mode="r", signing_key=SIGNING_KEY)
    assert reader.get_record(KEY) == PAYLOAD
    assert reader.warnings == []
    assert backend.remote(mode="r").get_record(KEY) == PAYLOAD  # without a key, signatures are not checked


def test_signature_covers_context_key_and_canonical_payload(backend: Backend) -> None:
    backend.remote(signing_key=SIGNING_KEY).put_record(KEY, b'{"b": 2, "a": 1}')
    expected = hmac.new(
        SIGNING_KEY, b"renderkit-record-v1\n" + KEY.encode() + b"\n" + b'{"a":1,"b":2}', hashlib.sha256
    ).hexdigest()
    assert json.loads(backend.read_raw(record_path(KEY)))["sig"] == expected


def test_unsigned_record_is_not_trusted_with_a_key(backend: Backend) -> None:
    backend.remote().put_record(KEY, PAYLOAD)
    reader = backend.remote(signing_key=SIGNING_KEY)
    assert reader.get_record(KEY) is None
    assert reader.warnings == [f"remote record {KEY} is not signed and a signing key is set; ignored"]


def test_record_signed_with_another_key_is_not_trusted(backend: Backend) -> None:
    backend.remote(signing_key=b"someone else").put_record(KEY, PAYLOAD)
    reader = backend.remote(signing_key=SIGNING_KEY)
    assert reader.get_record(KEY) is None
    assert reader.warnings == [f"remote record {KEY} has an invalid signature; ignored"]


@pytest.mark.parametrize("forge", ["edit-sig", "edit-payload", "non-ascii-sig", "moved-key"])
def test_forged_record_is_not_trusted(backend: Backend, forge: str) -> None:
    backend.remote(signing_key=SIGNING_KEY).put_record(KEY, PAYLOAD)
    doc = json.loads(backend.read_raw(record_path(KEY)))
    key = KEY
    if forge == "edit-sig":
        doc["sig"] = ("0" if doc["sig"][0] != "0" else "1") + doc["sig"][1:]
    elif forge == "edit-payload":
        doc["payload"]["a"] = 2
    elif forge == "non-ascii-sig":
        doc["sig"] = "é" * 64
    else:  # a genuine record copied under another key, its key field edited to match
        key = OTHER_KEY
        doc["key"] = OTHER_KEY
    backend.write_raw(record_path(key), json.dumps(doc).encode())
    reader = backend.remote(signing_key=SIGNING_KEY)
    assert reader.get_record(key) is None
    assert reader.warnings == [f"remote record {key} has an invalid signature; ignored"]


# blobs


def test_blob_round_trip(backend: Backend, tmp_path: Path) -> None:
    data = b"frame bytes " * 1000
    src = tmp_path / "src.mp4"
    src.write_bytes(data)
    remote = backend.remote()
    assert remote.has_blob(sha(data)) is False
    assert remote.push_blob(sha(data), src) is True
    assert remote.has_blob(sha(data)) is True
    dest = tmp_path / "out" / "dest.mp4"
    assert backend.remote(mode="r").pull_blob(sha(data), dest) is True
    assert dest.read_bytes() == data
    assert list(remote.list_blobs()) == [(sha(data), len(data))]
    assert os.listdir(dest.parent) == ["dest.mp4"]


def test_empty_blob_round_trip(backend: Backend, tmp_path: Path) -> None:
    src = tmp_path / "empty"
    src.write_bytes(b"")
    remote = backend.remote()
    assert remote.push_blob(sha(b""), src) is True
    assert remote.pull_blob(sha(b""), tmp_path / "back") is True
    assert (tmp_path / "back").read_bytes() == b""


def test_blob_pushed_twice_is_uploaded_once(backend: Backend, tmp_path: Path) -> None:
    data = b"once"
    src = tmp_path / "src"
    src.write_bytes(data)
    remote = backend.remote()
    assert remote.push_blob(sha(data), src) is True
    after_first = backend.footprint()
    assert backend.remote().push_blob(sha(data), src) is False
    assert backend.footprint() == after_first  # the second push sent no write at all


def test_pull_of_absent_blob_is_false(backend: Backend, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "dest"
    assert backend.remote().pull_blob(sha(b"nothing"), dest) is False
    assert not dest.parent.exists()


def test_tampered_blob_is_rejected_and_leaves_nothing(backend: Backend, tmp_path: Path) -> None:
    data = b"genuine output"
    src = tmp_path / "src"
    src.write_bytes(data)
    remote = backend.remote()
    remote.push_blob(sha(data), src)
    backend.write_raw(blob_path(sha(data)), b"tampered output")
    out = tmp_path / "out"
    out.mkdir()
    assert remote.pull_blob(sha(data), out / "dest") is False
    assert list(out.iterdir()) == []
    assert remote.warnings == [f"remote blob {sha(data)} failed its sha256 check; ignored"]


def test_push_of_a_file_that_does_not_match_its_name_stores_nothing(backend: Backend, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"these bytes")
    wrong = sha(b"other bytes")
    remote = backend.remote()
    assert remote.push_blob(wrong, src) is False
    assert remote.has_blob(wrong) is False
    assert remote.warnings == [f"local file {src} does not hash to {wrong}; not pushed"]


def test_large_blob_streams_in_parts(backend: Backend, tmp_path: Path) -> None:
    part = remote_module.PART_SIZE
    block = os.urandom(1 << 20)
    src = tmp_path / "large"
    with src.open("wb") as fh:
        for _ in range(2 * part // len(block) + 1):  # two full parts and a bit
            fh.write(block)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    remote = backend.remote()
    assert remote.push_blob(digest, src) is True
    if backend.kind == "s3":
        writes = backend.footprint()
        assert isinstance(writes, list)
        parts = [w for w in writes if isinstance(w, Request) and w.method == "PUT" and "partNumber=" in w.target]
        assert len(parts) == 3
    dest = tmp_path / "back"
    assert remote.pull_blob(digest, dest) is True
    assert dest.stat().st_size == src.stat().st_size
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest


def test_large_push_of_a_mismatched_file_is_aborted(backend: Backend, tmp_path: Path) -> None:
    src = tmp_path / "large"
    src.write_bytes(b"x" * (remote_module.PART_SIZE * 2 + 1))
    wrong = sha(b"y")
    remote = backend.remote()
    assert remote.push_blob(wrong, src) is False
    assert remote.has_blob(wrong) is False
    assert list(remote.list_blobs()) == []


def test_memory_stays_flat_for_a_large_blob(tmp_path: Path) -> None:
    """On file:// (moto would count its own copies): Python-side peak is a few chunks, not the blob size."""
    size = 48 << 20
    src = tmp_path / "large"
    digest = hashlib.sha256()
    with src.open("wb") as fh:
        block = os.urandom(1 << 20)
        for _ in range(size // len(block)):
            fh.write(block)
            digest.update(block)
    root = tmp_path / "remote"
    remote = Remote(RemoteConfig(url=root.as_uri(), mode="rw", signing_key=None), {})
    tracemalloc.start()
    try:
        assert remote.push_blob(digest.hexdigest(), src) is True
        _, push_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        assert remote.pull_blob(digest.hexdigest(), tmp_path / "back") is True
        _, pull_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = remote_module.PART_SIZE * (remote_module.UPLOAD_CONCURRENCY + 1)
    assert bound < size
    assert push_peak < bound
    assert pull_peak < 8 * remote_module.READ_CHUNK


def test_listing_skips_objects_that_are_not_records_or_blobs(backend: Backend) -> None:
    backend.write_raw("records/ab/notakey.json", b"{}")
    backend.write_raw(f"records/zz/{KEY}.json", b"{}")  # wrong fan-out folder
    backend.write_raw(f"records/{KEY[:2]}/{KEY}.json.tmp", b"{}")
    backend.write_raw(f"blobs/{KEY[:2]}/{KEY}", b"blob")
    backend.write_raw(f"blobs/00/{KEY}", b"misplaced")
    backend.write_raw("README", b"hello")
    remote = backend.remote()
    assert list(remote.list_blobs()) == [(KEY, 4)]
    assert list(remote.list_records()) == []


def test_delete_record_and_blob(backend: Backend, tmp_path: Path) -> None:
    remote = backend.remote()
    remote.put_record(KEY, PAYLOAD)
    src = tmp_path / "src"
    src.write_bytes(b"blob")
    remote.push_blob(sha(b"blob"), src)
    remote.delete_record(KEY)
    remote.delete_blob(sha(b"blob"))
    assert remote.get_record(KEY) is None
    assert remote.has_blob(sha(b"blob")) is False
    remote.delete_record(KEY)  # absent: nothing happens
    remote.delete_blob(sha(b"blob"))
    assert list(remote.list_records()) == []
    assert list(remote.list_blobs()) == []


# validation


BAD_KEYS = [
    pytest.param(KEY.upper(), id="upper"),
    pytest.param(KEY[:-1], id="short"),
    pytest.param(KEY + "0", id="long"),
    pytest.param("../" + KEY[3:], id="dotdot"),
    pytest.param(KEY[:-1] + "\n", id="newline"),
    pytest.param("", id="empty"),
    pytest.param(None, id="none"),
]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_invalid_keys_and_hashes_are_refused_before_any_request(backend: Backend, bad: str, tmp_path: Path) -> None:
    remote = backend.remote()
    src = tmp_path / "src"
    src.write_bytes(b"x")
    before = backend.footprint()
    calls: list[Callable[[], object]] = [
        lambda: remote.get_record(bad),
        lambda: remote.put_record(bad, PAYLOAD),
        lambda: remote.delete_record(bad),
        lambda: remote.has_blob(bad),
        lambda: remote.push_blob(bad, src),
        lambda: remote.pull_blob(bad, tmp_path / "dest"),
        lambda: remote.delete_blob(bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="64 lowercase hex digits"):
            call()
    assert backend.footprint() == before
    assert not (tmp_path / "dest").exists()


# mode r


def test_read_only_remote_refuses_writes_and_sends_none(backend: Backend, tmp_path: Path) -> None:
    data = b"shared blob"
    src = tmp_path / "src"
    src.write_bytes(data)
    writer = backend.remote()
    writer.put_record(KEY, PAYLOAD)
    writer.push_blob(sha(data), src)
    before = backend.footprint()

    reader = backend.remote(mode="r")
    assert reader.writable is False
    assert reader.get_record(KEY) == PAYLOAD
    assert reader.get_record(OTHER_KEY) is None
    assert reader.has_blob(sha(data)) is True
    assert reader.pull_blob(sha(data), tmp_path / "dest") is True
    assert reader.pull_blob(sha(b"absent"), tmp_path / "absent") is False
    assert list(reader.list_records()) == [KEY]
    assert [d for d, _ in reader.list_blobs()] == [sha(data)]
    calls: list[Callable[[], object]] = [
        lambda: reader.put_record(OTHER_KEY, PAYLOAD),
        lambda: reader.push_blob(sha(b"new"), src),
        lambda: reader.delete_record(KEY),
        lambda: reader.delete_blob(sha(data)),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match="read-only remote"):
            call()
    assert backend.footprint() == before


def test_read_only_session_sends_no_write_request_to_s3(s3_remote: S3Bucket, tmp_path: Path) -> None:
    data = b"shared blob"
    src = tmp_path / "src"
    src.write_bytes(data)
    writer = Remote(RemoteConfig(s3_remote.url(), "rw", None), s3_remote.environ)
    writer.put_record(KEY, PAYLOAD)
    writer.push_blob(sha(data), src)
    assert s3_remote.writes()  # the log sees writes
    seen = len(s3_remote.requests())

    reader = Remote(RemoteConfig(s3_remote.url(), "r", SIGNING_KEY), s3_remote.environ)
    reader.get_record(KEY)
    reader.has_blob(sha(data))
    reader.pull_blob(sha(data), tmp_path / "dest")
    list(reader.list_records())
    list(reader.list_blobs())
    with pytest.raises(RuntimeError):
        reader.put_record(OTHER_KEY, PAYLOAD)
    with pytest.raises(RuntimeError):
        reader.push_blob(sha(b"new"), src)

    session = s3_remote.requests()[seen:]
    assert {r.method for r in session} == {"GET", "HEAD"}
    assert [r for r in session if r.method not in {"GET", "HEAD"}] == []


# configuration


def test_from_env_defaults_and_precedence() -> None:
    assert RemoteConfig.from_env(None, {}) is None
    assert RemoteConfig.from_env("s3://team-bucket/renders", {}) == RemoteConfig("s3://team-bucket/renders", "rw", None)
    env = {"RENDERKIT_REMOTE": "file:///srv/renders", "RENDERKIT_REMOTE_MODE": "r"}
    assert RemoteConfig.from_env("s3://team-bucket/renders", env) == RemoteConfig("file:///srv/renders", "r", None)
    assert RemoteConfig.from_env(None, {"RENDERKIT_REMOTE": "s3://team-bucket"}) is not None
    assert RemoteConfig.from_env("s3://team-bucket", {"RENDERKIT_REMOTE": ""}) == RemoteConfig(
        "s3://team-bucket", "rw", None
    )
    assert RemoteConfig.from_env("s3://team-bucket", {"RENDERKIT_REMOTE_MODE": ""}) == RemoteConfig(
        "s3://team-bucket", "rw", None
    )


def test_from_env_mode_off_is_no_remote() -> None:
    env = {"RENDERKIT_REMOTE": "s3://team-bucket", "RENDERKIT_REMOTE_MODE": "off"}
    assert RemoteConfig.from_env("s3://other-bucket", env) is None
    assert RemoteConfig.from_env("not a url", {"RENDERKIT_REMOTE_MODE": "off"}) is None


@pytest.mark.parametrize("mode", ["RW", "read", "on", " r", "ro"])
def test_from_env_refuses_an_unknown_mode(mode: str) -> None:
    with pytest.raises(InputError, match=r"RENDERKIT_REMOTE_MODE.*rw.*r .*off") as info:
        RemoteConfig.from_env("s3://team-bucket", {"RENDERKIT_REMOTE_MODE": mode})
    assert info.value.exit_code == 2


def test_from_env_signing_key() -> None:
    env = {"RENDERKIT_REMOTE_SIGNING_KEY": "clé"}
    config = RemoteConfig.from_env("s3://team-bucket", env)
    assert config is not None
    assert config.signing_key == "clé".encode()
    assert "clé" not in repr(config)
    with pytest.raises(InputError, match="RENDERKIT_REMOTE_SIGNING_KEY is set but empty"):
        RemoteConfig.from_env("s3://team-bucket", {"RENDERKIT_REMOTE_SIGNING_KEY": ""})


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://host/dir", "unsupported scheme 'ftp'"),
        ("https://example.com/x", "unsupported scheme 'https'"),
        ("renders/cache", "no scheme"),
        ("s3://", "no valid bucket"),
        ("s3:///prefix", "no valid bucket"),
        ("s3://Bad_Bucket/x", "no valid bucket"),
        ("s3://bucket/a//b", "invalid prefix"),
        ("s3://bucket/a/../b", "invalid prefix"),
        ("s3://bucket/a b", "invalid prefix"),
        ("s3://bucket/x?versionId=1", "query"),
        ("s3://AKIA:" + SECRET + "@bucket/x", "credentials"),
        ("file://host/dir", "local directory"),
        ("file:relative/dir", "absolute directory"),
        ("file:///srv/../etc", "absolute directory"),
        ("s3://[bucket/x", "malformed"),
    ],
)
def test_bad_remote_url_is_an_input_error(url: str, why: str) -> None:
    with pytest.raises(InputError, match="remote URL") as info:
        RemoteConfig.from_env(url, {})
    assert why in str(info.value)
    assert "s3://BUCKET/PREFIX" in str(info.value)
    assert SECRET not in str(info.value)
    assert str(info.value).startswith("the manifest's remote: remote URL")
    with pytest.raises(InputError, match=r"^RENDERKIT_REMOTE: remote URL"):
        RemoteConfig.from_env("s3://team-bucket", {"RENDERKIT_REMOTE": url})


def test_config_hides_the_signing_key_and_checks_its_fields() -> None:
    config = RemoteConfig("s3://team-bucket", "r", b"hidden-key")
    assert "hidden-key" not in repr(config)
    with pytest.raises(ValueError, match="mode"):
        RemoteConfig("s3://team-bucket", "readonly", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        RemoteConfig("s3://team-bucket", "r", b"")


def test_remote_in_mode_off_is_not_opened(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="off"):
        Remote(RemoteConfig(tmp_path.as_uri(), "off", None), {})


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        ({"AWS_ENDPOINT_URL": "ftp://127.0.0.1:1"}, "AWS_ENDPOINT_URL="),
        ({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:notaport"}, "AWS_ENDPOINT_URL_S3="),
        ({"AWS_ENDPOINT_URL": "http://user:" + SECRET + "@127.0.0.1:1"}, "AWS_ENDPOINT_URL="),
        ({"AWS_ACCESS_KEY_ID": "AKIA"}, "both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ({"AWS_SECRET_ACCESS_KEY": SECRET}, "both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ({"AWS_REGION": "us east 1"}, "region"),
    ],
)
def test_bad_aws_settings_are_input_errors(environ: dict[str, str], match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        Remote(RemoteConfig("s3://team-bucket", "rw", None), environ)
    assert SECRET not in str(info.value)


def test_s3_endpoint_variable_for_s3_wins(s3_remote: S3Bucket) -> None:
    environ = dict(s3_remote.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}")
    environ["AWS_ENDPOINT_URL_S3"] = s3_remote.server.endpoint
    remote = Remote(RemoteConfig(s3_remote.url(), "rw", None), environ)
    assert remote.put_record(KEY, PAYLOAD) is True


def test_repr_names_the_remote_only(tmp_path: Path) -> None:
    remote = Remote(RemoteConfig(tmp_path.as_uri(), "rw", SIGNING_SECRET.encode()), {})
    assert repr(remote) == f"Remote({tmp_path.as_uri()!r}, mode='rw')"


def test_file_remote_is_created_in_rw_mode_and_required_in_r_mode(tmp_path: Path) -> None:
    root = tmp_path / "new" / "remote"
    with pytest.raises(RemoteError, match="no directory"):
        Remote(RemoteConfig(root.as_uri(), "r", None), {})
    Remote(RemoteConfig(root.as_uri(), "rw", None), {}).put_record(KEY, PAYLOAD)
    assert (root / record_path(KEY)).is_file()
    assert Remote(RemoteConfig(root.as_uri(), "r", None), {}).get_record(KEY) == PAYLOAD


# failures


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def secret_environ(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "AKIATESTING",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }


def assert_scrubbed(exc: BaseException) -> None:
    for text in (str(exc), repr(exc)):
        for secret in (SECRET, TOKEN, SIGNING_SECRET, "X-Amz-Signature"):
            assert secret not in text


def every_operation(remote: Remote, tmp_path: Path) -> list[tuple[str, Callable[[], object]]]:
    src = tmp_path / "src"
    src.write_bytes(b"x")
    return [
        ("cannot read record", lambda: remote.get_record(KEY)),
        ("cannot write record", lambda: remote.put_record(KEY, PAYLOAD)),
        ("cannot look up blob", lambda: remote.has_blob(sha(b"x"))),
        ("cannot look up blob", lambda: remote.push_blob(sha(b"x"), src)),
        ("cannot download blob", lambda: remote.pull_blob(sha(b"x"), tmp_path / "dest")),
        ("cannot list records", lambda: list(remote.list_records())),
        ("cannot list blobs", lambda: list(remote.list_blobs())),
        ("cannot delete record", lambda: remote.delete_record(KEY)),
        ("cannot delete blob", lambda: remote.delete_blob(sha(b"x"))),
    ]


@pytest.mark.timeout(30, method="thread")
def test_dead_remote_fails_fast_with_a_scrubbed_error(tmp_path: Path) -> None:
    config = RemoteConfig("s3://team-bucket/renders", "rw", SIGNING_SECRET.encode())
    remote = Remote(config, secret_environ(f"http://127.0.0.1:{closed_port()}"))
    for what, call in every_operation(remote, tmp_path):
        with pytest.raises(RemoteError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"remote s3://team-bucket/renders: {what}"), message
        assert "(connection refused)" in message
        assert "RENDERKIT_REMOTE_MODE=off" in message
        assert info.value.__cause__ is None
        assert isinstance(info.value, RenderkitError)
        assert info.value.exit_code == 1
        assert_scrubbed(info.value)
    assert not (tmp_path / "dest").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "src"]


class _Answer500(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = (
            b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message>"
            b"<AWSAccessKeyId>AKIATESTING</AWSAccessKeyId></Error>"
        )
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that answers 500 to everything; yields its URL and the methods it saw."""
    seen: list[str] = []

    class Handler(_Answer500):
        def _answer(self) -> None:
            seen.append(self.command)
            super()._answer()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.timeout(30, method="thread")
def test_server_errors_become_remote_errors(failing_endpoint: tuple[str, list[str]], tmp_path: Path) -> None:
    endpoint, seen = failing_endpoint
    remote = Remote(RemoteConfig("s3://team-bucket", "rw", None), secret_environ(endpoint))
    for what, call in every_operation(remote, tmp_path):
        with pytest.raises(RemoteError, match=f"^remote s3://team-bucket: {what}") as info:
            call()
        assert "(HTTP 500" in str(info.value)
        assert_scrubbed(info.value)
    # Bounded retries: four reads (get_record, pull_blob, two listings), each tried 1 + MAX_RETRIES times.
    assert seen.count("GET") == 4 * (1 + remote_module.MAX_RETRIES)
    assert not (tmp_path / "dest").exists()


def test_missing_bucket_is_an_error_not_an_absent_record(s3_remote: S3Bucket) -> None:
    remote = Remote(RemoteConfig(f"s3://{s3_remote.name}-missing", "rw", None), s3_remote.environ)
    with pytest.raises(RemoteError, match=r"cannot read record .*HTTP 404 NoSuchBucket"):
        remote.get_record(KEY)
    with pytest.raises(RemoteError, match=r"cannot write record .*HTTP 404 NoSuchBucket"):
        remote.put_record(KEY, PAYLOAD)


def test_file_remote_failure_is_a_remote_error(tmp_path: Path) -> None:
    root = tmp_path / "remote"
    root.mkdir()
    (root / "records").write_bytes(b"a file where a folder should be")
    remote = Remote(RemoteConfig(root.as_uri(), "rw", None), {})
    with pytest.raises(RemoteError, match=rf"^remote {root.as_uri()}: cannot write record {KEY} \(") as info:
        remote.put_record(KEY, PAYLOAD)
    assert "RENDERKIT_REMOTE_MODE=off" in str(info.value)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback server that accepts connections and reads requests but never answers; closed after."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=10)
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.timeout(30, method="thread")
def test_stalled_remote_times_out(silent_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A server that never answers fails after READ_TIMEOUT (shortened here), within the retry budget."""
    monkeypatch.setattr(remote_module, "READ_TIMEOUT", timedelta(milliseconds=300))
    remote = Remote(RemoteConfig("s3://team-bucket", "rw", None), secret_environ(silent_endpoint))
    with pytest.raises(RemoteError, match=r"cannot read record .* \(timed out\)") as info:
        remote.get_record(KEY)
    assert_scrubbed(info.value)
    with pytest.raises(RemoteError, match=r"cannot look up blob .* \(timed out\)"):
        remote.has_blob(sha(b"x"))
