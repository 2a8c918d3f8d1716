"""A remote render cache on object storage, shared by every machine of a team.

The remote holds two kinds of object under its URL's prefix::

    blobs/<sha[:2]>/<sha256>        the bytes of one file, named by their SHA-256
    records/<key[:2]>/<key>.json    {"format": 1, "key": KEY, "payload": {...}, "sig": HEX or null}

This module deals only in bytes, files and paths; what a record's payload means is the caller's business.

Records. A payload is the JSON text of an object. It is stored parsed, so that the record reads as JSON, and is
handed back by ``get_record`` in canonical form: ``json.dumps(obj, sort_keys=True, separators=(",", ":"))``
encoded as UTF-8 (the same form for any spelling of the same object). With a signing key the record carries
``sig``, the hex HMAC-SHA256 of ``b"renderkit-record-v1\\n" + key + b"\\n" + canonical payload``; a reader with
a key trusts no record without a valid signature. Records are written with a conditional create (S3:
``If-None-Match: *``), so the first writer wins and nothing is ever overwritten.

Blobs. A blob is named by the SHA-256 of its bytes and every download is hashed again, so a damaged or
tampered blob is never used. An upload first asks whether the blob is there (HEAD) and sends nothing if it
is. A blob of up to ``PART_SIZE`` bytes goes up in one conditional create; a larger one goes up as a streamed
multipart upload (``obstore`` cannot make a multipart upload conditional), which is harmless: two writers
of one name write the same bytes. Both directions stream, so memory stays flat whatever the size.

Failures. Every failure of the store (refused or dropped connection, DNS, timeout, an HTTP error status,
permission denied) is raised as ``RemoteError``, whose message names the operation and the remote and never
carries a secret; the caller decides whether the build goes on without the remote. Timeouts and a small retry
budget make a dead remote fail within seconds. A record or blob that cannot be trusted is not an error: it
reads as absent and a sentence is appended to ``Remote.warnings``.

Credentials come from the ``AWS_*`` variables of the mapping given to ``Remote``; this module never reads
``os.environ`` itself. (``obstore`` still consults the process environment for settings not passed to it,
such as web-identity or container credentials when no access key is given.)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal
from urllib.parse import unquote, urlsplit

from obstore.exceptions import (
    AlreadyExistsError,
    BaseError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import LocalStore, S3Store

from renderkit.errors import InputError, RemoteError
from renderkit.store.files import fsync_dir, temp_beside
from renderkit.store.layout import REMOTE_ENV, REMOTE_MODE_ENV, REMOTE_SIGNING_KEY_ENV

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

__all__ = ["Mode", "Remote", "RemoteConfig", "RemoteError"]

Mode = Literal["rw", "r", "off"]
_MODES: Final[dict[str, Mode]] = {"rw": "rw", "r": "r", "off": "off"}

RECORD_FORMAT: Final = 1
SIGNATURE_CONTEXT: Final = b"renderkit-record-v1\n"
MAX_RECORD_BYTES: Final = 4 * 1024 * 1024
"""A record larger than this is not read (records are small; this bounds memory against a bogus object)."""
PART_SIZE: Final = 8 * 1024 * 1024
"""Blobs up to this size go up in one conditional PUT; larger ones in multipart parts of this size."""
UPLOAD_CONCURRENCY: Final = 4
"""Parts in flight at once during a multipart upload: memory stays under about ``PART_SIZE * (this + 1)``."""
READ_CHUNK: Final = 1024 * 1024

CONNECT_TIMEOUT: Final = timedelta(seconds=5)
READ_TIMEOUT: Final = timedelta(seconds=60)
"""The longest silence tolerated while a response is read: a stalled server fails after this."""
REQUEST_TIMEOUT: Final = timedelta(minutes=30)
"""The longest one request may take in all, body included: room for a large blob on a slow link."""
MAX_RETRIES: Final = 2
RETRY_TIMEOUT: Final = timedelta(seconds=10)
"""No retry starts later than this after the first attempt, so a dead remote fails within seconds."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_S3_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]+")
_REGION = re.compile(r"[a-z0-9-]{1,40}")
_RECORD_PATH = re.compile(r"records/([0-9a-f]{2})/([0-9a-f]{64})\.json")
_BLOB_PATH = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{64})")
_URL_HINT = "use s3://BUCKET/PREFIX or file:///ABSOLUTE/DIR"
_WHAT_TO_DO = (
    "check the remote's URL, network access and credentials, or set RENDERKIT_REMOTE_MODE=off to work without it"
)
# obstore raises its own BaseError subclasses, and builtin OSErrors (FileNotFoundError for a missing object).
_STORE_ERRORS = (BaseError, OSError)
_MIN_SCRUBBED = 4
_ABSENT = (FileNotFoundError, NotFoundError)


@dataclass(frozen=True)
class RemoteConfig:
    """Where the remote cache is and how it may be used; ``signing_key`` is kept out of ``repr``."""

    url: str
    mode: Mode
    signing_key: bytes | None = field(repr=False)

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"remote mode must be one of rw, r, off, not {self.mode!r}")
        if self.signing_key is not None and not self.signing_key:
            raise ValueError("a remote signing key must not be empty; pass None for no key")
        _parse_url(self.url)

    @classmethod
    def from_env(cls, manifest_remote: str | None, environ: Mapping[str, str]) -> RemoteConfig | None:
        """The remote for this run, or None when there is none or it is switched off.

        ``RENDERKIT_REMOTE`` overrides the manifest's remote URL; ``RENDERKIT_REMOTE_MODE`` is ``rw`` (the
        default), ``r`` or ``off``; ``RENDERKIT_REMOTE_SIGNING_KEY`` (UTF-8) makes reads trust signed records
        only and writes sign. A variable set to the empty string counts as unset, except the signing key, for
        which an empty value is an error (it usually means a secret that failed to expand).
        """
        raw_mode = environ.get(REMOTE_MODE_ENV) or "rw"
        mode = _MODES.get(raw_mode)
        if mode is None:
            raise InputError(
                f"RENDERKIT_REMOTE_MODE={raw_mode[:40]!r} is not a remote mode; set it to rw (read and write), "
                "r (read only) or off (no remote)"
            )
        if mode == "off":
            return None
        url = environ.get(REMOTE_ENV) or manifest_remote
        if not url:
            return None
        key_text = environ.get(REMOTE_SIGNING_KEY_ENV)
        if key_text == "":
            raise InputError(
                "RENDERKIT_REMOTE_SIGNING_KEY is set but empty; set it to the team's record signing key or unset it"
            )
        source = REMOTE_ENV if environ.get(REMOTE_ENV) else "the manifest's remote"
        try:
            return cls(url=url, mode=mode, signing_key=None if key_text is None else key_text.encode("utf-8"))
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None


class Remote:
    """A remote cache: records by render key and blobs by SHA-256 (see the module docstring)."""

    def __init__(self, config: RemoteConfig, environ: Mapping[str, str]) -> None:
        if config.mode == "off":
            raise ValueError("a remote in mode 'off' is not opened (RemoteConfig.from_env returns None for it)")
        self.url: str = config.url
        self.mode: Mode = config.mode
        self.writable: bool = config.mode == "rw"
        self.warnings: list[str] = []
        self._signing_key = config.signing_key
        secrets = [environ.get("AWS_SECRET_ACCESS_KEY"), environ.get("AWS_SESSION_TOKEN")]
        if config.signing_key is not None:
            secrets.append(config.signing_key.decode("utf-8", "replace"))
        # Shorter values are too weak to be secrets and would mangle every message they happen to occur in.
        self._secrets = tuple(s for s in secrets if s and len(s) >= _MIN_SCRUBBED)
        self._store = self._open(_parse_url(config.url), environ)

    def __repr__(self) -> str:
        return f"Remote({self.url!r}, mode={self.mode!r})"

    # records

    def get_record(self, key: str) -> bytes | None:
        """The canonical payload stored under render key ``key``; None when absent or not to be trusted."""
        path = _record_path(key)
        try:
            result = self._store.get(path)
            if result.meta["size"] > MAX_RECORD_BYTES:
                self._warn(f"remote record {key} is larger than {MAX_RECORD_BYTES} bytes; ignored")
                return None
            raw = bytes(result.bytes())
        except _ABSENT as exc:
            if "NoSuchBucket" in str(exc):
                raise self._error(f"cannot read record {key}", exc) from None
            return None
        except _STORE_ERRORS as exc:
            raise self._error(f"cannot read record {key}", exc) from None
        return self._payload_of(key, raw)

    def put_record(self, key: str, payload: bytes) -> bool:
        """Store ``payload`` (JSON text of an object) under ``key`` unless a record is there: True if written.

        Raises ValueError for a payload that is not a JSON object (or makes a record over ``MAX_RECORD_BYTES``)
        and RuntimeError on a read-only remote.
        """
        path = _record_path(key)
        self._require_writable("put_record")
        obj, canonical = _parse_payload(payload)
        doc = {
            "format": RECORD_FORMAT,
            "key": key,
            "payload": obj,
            "sig": None if self._signing_key is None else _signature(self._signing_key, key, canonical),
        }
        body = (json.dumps(doc, sort_keys=True, indent=2, allow_nan=False) + "\n").encode("utf-8")
        if len(body) > MAX_RECORD_BYTES:
            raise ValueError(f"a record must stay under {MAX_RECORD_BYTES} bytes; this one has {len(body)}")
        try:
            self._store.put(path, body, mode="create")
        except (AlreadyExistsError, PreconditionError):
            return False
        except _STORE_ERRORS as exc:
            raise self._error(f"cannot write record {key}", exc) from None
        return True

    def list_records(self, older_than: float | None = None) -> Iterator[str]:
        """The render keys of the records on the remote (objects not laid out as records are skipped).

        With ``older_than`` (a unix time), only records last written before it.
        """
        for path, _size in self._list("records/", "cannot list records", older_than):
            match = _RECORD_PATH.fullmatch(path)
            if match and match[2].startswith(match[1]):
                yield match[2]

    def delete_record(self, key: str) -> None:
        """Delete the record under ``key`` (nothing happens when it is absent)."""
        self._delete(_record_path(key), "delete_record", f"cannot delete record {key}")

    # blobs

    def has_blob(self, sha256: str) -> bool:
        """Whether the blob named ``sha256`` is on the remote (one HEAD request)."""
        path = _blob_path(sha256)
        try:
            self._store.head(path)
        except _ABSENT:
            return False
        except _STORE_ERRORS as exc:
            raise self._error(f"cannot look up blob {sha256}", exc) from None
        return True

    def push_blob(self, sha256: str, src: Path) -> bool:
        """Upload the file ``src`` as the blob ``sha256`` unless the remote has it: True if uploaded.

        The bytes are hashed on the way up; a file that does not hash to ``sha256`` is not stored (False and a
        warning). Raises RuntimeError on a read-only remote; errors reading ``src`` propagate as OSError.
        """
        path = _blob_path(sha256)
        self._require_writable("push_blob")
        if self.has_blob(sha256):
            return False
        src = Path(src)
        if src.stat().st_size <= PART_SIZE:
            data = src.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                self._warn(f"local file {src} does not hash to {sha256}; not pushed")
                return False
            try:
                self._store.put(path, data, mode="create")
            except (AlreadyExistsError, PreconditionError):
                return False
            except _STORE_ERRORS as exc:
                raise self._error(f"cannot upload blob {sha256}", exc) from None
            return True
        with src.open("rb") as fh:
            chunks = _HashedChunks(fh, sha256)
            try:
                self._store.put(
                    path, chunks, use_multipart=True, chunk_size=PART_SIZE, max_concurrency=UPLOAD_CONCURRENCY
                )
            except _HashMismatch:
                self._warn(f"local file {src} does not hash to {sha256}; not pushed")
                return False
            except _STORE_ERRORS as exc:
                if chunks.read_error is not None:  # reading src failed: a local error, not the remote's
                    raise chunks.read_error from None
                raise self._error(f"cannot upload blob {sha256}", exc) from None
        return True

    def pull_blob(self, sha256: str, dest: Path) -> bool:
        """Download the blob ``sha256`` to ``dest`` if it is there and hashes right: True if ``dest`` was written.

        The bytes stream into a temporary file beside ``dest`` while being hashed; only a match is renamed
        into place. A mismatch leaves nothing behind and appends a warning. Local write errors propagate.
        """
        path = _blob_path(sha256)
        dest = Path(dest)
        what = f"cannot download blob {sha256}"
        try:
            result = self._store.get(path)
        except _ABSENT as exc:
            if "NoSuchBucket" in str(exc):
                raise self._error(what, exc) from None
            return False
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from None
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(dest, ".part")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as fh:
                stream = result.stream(min_chunk_size=READ_CHUNK)
                while True:
                    try:
                        chunk = next(stream)
                    except StopIteration:
                        break
                    except _STORE_ERRORS as exc:
                        raise self._error(what, exc) from None
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if digest.hexdigest() != sha256:
                tmp.unlink()
                self._warn(f"remote blob {sha256} failed its sha256 check; ignored")
                return False
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        with contextlib.suppress(OSError):
            fsync_dir(dest.parent)
        return True

    def list_blobs(self, older_than: float | None = None) -> Iterator[tuple[str, int]]:
        """``(sha256, size)`` of each blob on the remote (objects not laid out as blobs are skipped).

        With ``older_than`` (a unix time), only blobs last written before it.
        """
        for path, size in self._list("blobs/", "cannot list blobs", older_than):
            match = _BLOB_PATH.fullmatch(path)
            if match and match[2].startswith(match[1]):
                yield match[2], size

    def delete_blob(self, sha256: str) -> None:
        """Delete the blob ``sha256`` (nothing happens when it is absent)."""
        self._delete(_blob_path(sha256), "delete_blob", f"cannot delete blob {sha256}")

    # internals

    def _open(self, location: _Location, environ: Mapping[str, str]) -> S3Store | LocalStore:
        if location.scheme == "file":
            root = Path(location.path)
            if not self.writable and not root.is_dir():
                raise RemoteError(f"remote {self.url}: cannot open it (no directory {root}); {_WHAT_TO_DO}")
            try:
                return LocalStore(prefix=root, mkdir=self.writable, automatic_cleanup=True)
            except _STORE_ERRORS as exc:
                raise self._error("cannot open it", exc) from None
        config = _s3_config(environ)
        client: ClientConfig = {
            "allow_http": config["endpoint"].startswith("http://"),
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "timeout": REQUEST_TIMEOUT,
        }
        retry: RetryConfig = {
            "max_retries": MAX_RETRIES,
            "retry_timeout": RETRY_TIMEOUT,
            "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=2), "base": 2},
        }
        try:
            return S3Store(
                location.bucket,
                prefix=location.path or None,
                config=config,
                client_options=client,
                retry_config=retry,
            )
        except (*_STORE_ERRORS, ValueError) as exc:
            raise self._error("cannot open it", exc) from None

    def _payload_of(self, key: str, raw: bytes) -> bytes | None:
        try:
            doc = json.loads(raw, parse_constant=_reject_constant)
            if not (
                isinstance(doc, dict)
                and type(doc.get("format")) is int
                and doc["format"] == RECORD_FORMAT
                and doc.get("key") == key
                and isinstance(doc.get("payload"), dict)
                and "sig" in doc
                and (doc["sig"] is None or isinstance(doc["sig"], str))
            ):
                raise ValueError("not a record")
            payload = _canonical(doc["payload"])
        except (ValueError, RecursionError):
            self._warn(f"remote record {key} is not a valid renderkit record; ignored")
            return None
        if self._signing_key is not None:
            sig = doc["sig"]
            if sig is None:
                self._warn(f"remote record {key} is not signed and a signing key is set; ignored")
                return None
            expected = _signature(self._signing_key, key, payload)
            if not hmac.compare_digest(sig.encode("utf-8"), expected.encode("ascii")):
                self._warn(f"remote record {key} has an invalid signature; ignored")
                return None
        return payload

    def _list(self, prefix: str, what: str, older_than: float | None) -> Iterator[tuple[str, int]]:
        try:
            stream = self._store.list(prefix, chunk_size=1000)
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from None
        while True:
            try:
                batch = next(stream)
            except StopIteration:
                return
            except _STORE_ERRORS as exc:
                raise self._error(what, exc) from None
            for meta in batch:
                if older_than is None or meta["last_modified"].timestamp() < older_than:
                    yield meta["path"], meta["size"]

    def _delete(self, path: str, op: str, what: str) -> None:
        self._require_writable(op)
        try:
            self._store.delete(path)
        except _ABSENT:
            return
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from None

    def _require_writable(self, op: str) -> None:
        if not self.writable:
            raise RuntimeError(
                f"Remote.{op} called on the read-only remote {self.url} (mode {self.mode!r}); check Remote.writable"
            )

    def _warn(self, message: str) -> None:
        self.warnings.append(self._scrub(message))

    def _error(self, what: str, exc: BaseException) -> RemoteError:
        return RemoteError(self._scrub(f"remote {self.url}: {what} ({_reason(exc)}); {_WHAT_TO_DO}"))

    def _scrub(self, text: str) -> str:
        """Remove every secret this remote knows of, and any URL query (a presigned URL's signature), from text."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return re.sub(r"(\w+://[^\s?#]*)\?\S*", r"\1?***", text)


@dataclass(frozen=True)
class _Location:
    scheme: Literal["s3", "file"]
    bucket: str
    path: str
    """The key prefix in the bucket (s3, no slash at either end) or the absolute directory (file)."""


def _parse_url(url: str) -> _Location:
    def bad(why: str) -> InputError:
        return InputError(f"remote URL {_shown_url(url)!r} {why}; {_URL_HINT}")

    if not isinstance(url, str) or not url:
        raise bad("is empty")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise bad("is malformed") from None
    if "?" in url or "#" in url:
        raise bad("must not have a query or a fragment")
    if "@" in parts.netloc:
        raise bad("must not contain credentials (they come from the environment)")
    scheme = parts.scheme.lower()
    if scheme == "s3":
        if not _BUCKET.fullmatch(parts.netloc):
            raise bad("has no valid bucket name")
        prefix = parts.path.strip("/")
        if prefix and (not _S3_PREFIX.fullmatch(prefix) or any(seg in ("", ".", "..") for seg in prefix.split("/"))):
            raise bad("has an invalid prefix (letters, digits and !_.*'()- between single slashes)")
        return _Location("s3", parts.netloc, prefix)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise bad("must name a local directory (file:///ABSOLUTE/DIR)")
        path = unquote(parts.path)
        if not path.startswith("/") or "\x00" in path or any(seg in (".", "..") for seg in path.split("/")):
            raise bad("must name an absolute directory")
        return _Location("file", "", path.rstrip("/") or "/")
    if not scheme:
        raise bad("has no scheme")
    raise bad(f"has the unsupported scheme {scheme!r}")


def _shown_url(url: object) -> str:
    """The URL as it may appear in a message: no user-info, no query or fragment, at most 200 characters."""
    text = str(url)
    text = re.sub(r"//[^/]*@", "//***@", text)
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    return text[:200]


def _s3_config(environ: Mapping[str, str]) -> S3Config:
    def get(name: str) -> str | None:
        return environ.get(name) or None

    region = get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-east-1"
    if not _REGION.fullmatch(region):
        raise InputError(f"AWS_REGION / AWS_DEFAULT_REGION {region[:40]!r} is not an AWS region name")
    endpoint_var = "AWS_ENDPOINT_URL_S3" if get("AWS_ENDPOINT_URL_S3") else "AWS_ENDPOINT_URL"
    endpoint = get(endpoint_var)
    if endpoint is None:
        # Explicit, so that an AWS_ENDPOINT_URL in the process environment cannot redirect the requests.
        endpoint = f"https://s3.{region}.amazonaws.com"
    else:
        try:
            parts = urlsplit(endpoint)
            _ = parts.port  # raises ValueError for a port that is not a number in range
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid or "@" in endpoint or "?" in endpoint or "#" in endpoint:
            raise InputError(
                f"{endpoint_var}={_shown_url(endpoint)!r} is not an endpoint URL; use http(s)://HOST[:PORT]"
            )
        endpoint = endpoint.rstrip("/")
    config: S3Config = {"region": region, "endpoint": endpoint}
    access_key, secret_key = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
    if (access_key is None) != (secret_key is None):
        raise InputError("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
    if access_key is not None and secret_key is not None:
        config["access_key_id"] = access_key
        config["secret_access_key"] = secret_key
        token = get("AWS_SESSION_TOKEN")
        if token is not None:
            config["session_token"] = token
    return config


def _reason(exc: BaseException) -> str:
    """A short, secret-free cause for a store failure, from the exception's type and text."""
    text = str(exc)
    status = re.search(r"status code: (\d{3})", text)
    if status:
        code = re.search(r"<Code>([A-Za-z0-9.]{1,64})</Code>", text)
        return f"HTTP {status[1]}" + (f" {code[1]}" if code else "")
    if isinstance(exc, PermissionDeniedError | PermissionError):
        return "permission denied"
    if isinstance(exc, UnauthenticatedError):
        return "the credentials were refused"
    lowered = text.lower()
    for needles, reason in (
        (("connection refused", "connectionrefused"), "connection refused"),
        (("dns error", "failed to lookup address", "name or service not known"), "host not found"),
        (("timedout", "timed out", "deadline has elapsed"), "timed out"),
        (("connection reset", "connectionreset", "connection closed"), "connection lost"),
        (("certificate", "tls", "ssl"), "TLS failure"),
        (("tcp connect error", "error sending request"), "cannot connect"),
    ):
        if any(needle in lowered for needle in needles):
            return reason
    os_error = re.search(r"os error (\d+)", text)
    if os_error:
        return os.strerror(int(os_error[1])).lower()
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    return f"unexpected {type(exc).__name__}"


def _check_hex(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{what} must be 64 lowercase hex digits, not {str(value)[:80]!r}")
    return value


def _record_path(key: str) -> str:
    key = _check_hex(key, "a render key")
    return f"records/{key[:2]}/{key}.json"


def _blob_path(sha256: str) -> str:
    sha256 = _check_hex(sha256, "a blob's sha256")
    return f"blobs/{sha256[:2]}/{sha256}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_payload(payload: bytes) -> tuple[dict[str, Any], bytes]:
    """The payload parsed, and in canonical form; ValueError unless it is the JSON text of an object."""
    try:
        obj = json.loads(payload, parse_constant=_reject_constant)
        if not isinstance(obj, dict):
            raise ValueError("not an object")
        return obj, _canonical(obj)  # _canonical refuses a number too large for a float
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"a record payload must be the JSON text of an object ({exc})") from None


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _signature(signing_key: bytes, key: str, canonical_payload: bytes) -> str:
    message = SIGNATURE_CONTEXT + key.encode("ascii") + b"\n" + canonical_payload
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


class _HashMismatch(Exception):
    """The file being uploaded does not hash to the name it is uploaded under."""


class _HashedChunks:
    """A file's bytes in chunks, hashed as they go; ends with _HashMismatch instead if the hash is wrong.

    Raising before the iterator is exhausted makes obstore abort the multipart upload, so nothing is stored.
    """

    def __init__(self, fh: BinaryIO, expected: str) -> None:
        self._fh = fh
        self._expected = expected
        self._digest = hashlib.sha256()
        self.read_error: OSError | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = self._fh.read(READ_CHUNK)
        except OSError as exc:
            self.read_error = exc
            raise
        if chunk:
            self._digest.update(chunk)
            return chunk
        if self._digest.hexdigest() != self._expected:
            raise _HashMismatch
        raise StopIteration
