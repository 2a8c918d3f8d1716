"""The content-addressed cache: a diskcache index (render key -> record JSON) and blobs by sha256.

Only ``str`` JSON goes into diskcache (never pickled objects: diskcache's pickle path has an unfixed CVE).
Blobs live at ``blobs/ab/abcdef…``; every reuse re-hashes the blob, and a corrupt blob is dropped and
reported as a miss. Output stat records (size, mtime, inode) let a no-op build trust files it wrote itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from renderkit.errors import CacheError
from renderkit.store.files import fsync_dir
from renderkit.store.layout import CACHE_DIR_ENV, CacheLayout, output_temp

CHUNK = 1 << 20
_FICLONE = 0x40049409  # Linux ioctl: reflink one file into another (btrfs, xfs, ...)
_RECORD = "rec:"
_OUTPUT = "out:"
BATCH = 500  # names per batched index query, well under SQLite's 999 bound variables of old builds


@dataclass(frozen=True)
class Record:
    """A finished render: what was asked, which task made it, and the bytes it produced."""

    key: str
    request: Mapping[str, Any]
    provider_kind: str
    task_id: str
    sha256: str
    bytes: int
    shots: tuple[Mapping[str, str], ...] = field(default=())
    # What the provider delivered when it differs from the request ({"size": "WxH", "seconds": N}): kept, since
    # it was paid for and decodes, and the lock says what it is.
    delivered: Mapping[str, Any] | None = None

    def to_json(self) -> str:
        """Serialise to canonical-enough JSON for the index."""
        doc = {
            "key": self.key,
            "request": self.request,
            "provider_kind": self.provider_kind,
            "task_id": self.task_id,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "shots": list(self.shots),
        }
        if self.delivered is not None:
            doc["delivered"] = dict(self.delivered)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Record:
        """Parse a record written by ``to_json``."""
        raw = json.loads(text)
        return cls(
            key=raw["key"],
            request=raw["request"],
            provider_kind=raw["provider_kind"],
            task_id=raw["task_id"],
            sha256=raw["sha256"],
            bytes=int(raw["bytes"]),
            shots=tuple(raw.get("shots", ())),
            delivered=raw.get("delivered"),
        )


def sha256_file(path: Path) -> str:
    """Hash a file in chunks (memory flat in file size)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _clone(src: Path, dest: Path) -> None:
    """Copy ``src`` to a new file ``dest``: a copy-on-write clone where the filesystem has one.

    Never a hard link: an editor that saves an output in place would silently corrupt the paid blob. Not
    fsynced: the blob is the durable copy, and an output lost to a power cut fails the next build's stat
    check and is copied again.
    """
    with src.open("rb") as fin, dest.open("wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
            return
        except OSError:
            pass
        if _copy_range(fin.fileno(), fout.fileno()):
            return
    import shutil  # here: at import it would load bz2, lzma and zlib into every command (5 ms)

    shutil.copyfile(src, dest)  # sendfile, where the kernel cannot copy a range (another filesystem)


def _sized(path: str | Path, size: int) -> bool:
    """Whether ``path`` is a file of ``size`` bytes."""
    try:
        return os.stat(path).st_size == size
    except FileNotFoundError:
        return False


def _copy_range(fin: int, fout: int) -> bool:
    """Copy a whole file inside the kernel (``copy_file_range``: 2-3x faster than sendfile here); False if refused."""
    size = os.fstat(fin).st_size
    copied = 0
    try:
        while copied < size:
            step = os.copy_file_range(fin, fout, size - copied)
            if step == 0:
                return False
            copied += step
    except OSError:
        return False
    return True


class Cache:
    """One cache directory: ``index/`` (diskcache), ``blobs/``, ``tmp/`` and the journal."""

    def __init__(self, layout: CacheLayout) -> None:
        self.layout = layout
        self.root = layout.root
        self.blobs = layout.blobs
        self.tmp = layout.tmp
        self._index: Any = None
        self.problems: list[str] = []

    def exists(self) -> bool:
        """Whether anything was ever cached here (plan must not create the directory)."""
        return self.layout.index.is_dir()

    @property
    def index(self) -> Any:
        """The diskcache index, opened (and created) on first use."""
        if self._index is None:
            import diskcache

            try:
                self.root.mkdir(parents=True, exist_ok=True)
                self._index = diskcache.Cache(
                    str(self.layout.index), eviction_policy="none", size_limit=2**62, statistics=False
                )
            except OSError as exc:
                raise CacheError(
                    f"cannot open the cache at {self.root}: {exc}; check permissions or point {CACHE_DIR_ENV} elsewhere"
                ) from None
        return self._index

    def close(self) -> None:
        """Close the index."""
        if self._index is not None:
            self._index.close()
            self._index = None

    def get(self, key: str) -> Record | None:
        """The record for a render key, or None (a corrupt record is reported and treated as a miss)."""
        if self._index is None and not self.exists():
            return None
        return self._parse(key, self.index.get(_RECORD + key))

    def get_many(self, keys: Iterable[str]) -> dict[str, Record | None]:
        """``get`` for many keys in a few queries: a rebuild asks for every key its lock names."""
        keys = list(dict.fromkeys(keys))
        if self._index is None and not self.exists():
            return dict.fromkeys(keys)
        texts = self._values([_RECORD + key for key in keys])
        return {key: self._parse(key, texts.get(_RECORD + key)) for key in keys}

    def _parse(self, key: str, text: str | None) -> Record | None:
        if text is None:
            return None
        try:
            return Record.from_json(text)
        except (ValueError, KeyError, TypeError):
            self.problems.append(f"cache record for {key[:12]} is corrupt; it will be rebuilt")
            return None

    def _values(self, names: list[str]) -> dict[str, Any]:
        """The index's values for many names, ``BATCH`` to a query (diskcache reads one key per query)."""
        index = self.index
        found: dict[str, Any] = {}
        for start in range(0, len(names), BATCH):
            batch = names[start : start + BATCH]
            # diskcache stores a str key as itself (raw = 1); its value is inline or in a file, as ``fetch`` reads.
            rows = index._sql(
                "SELECT key, mode, filename, value FROM Cache WHERE raw = 1 AND key IN "
                f"({','.join('?' * len(batch))}) AND (expire_time IS NULL OR expire_time > ?)",
                (*batch, time.time()),
            ).fetchall()
            for name, mode, filename, value in rows:
                with contextlib.suppress(OSError):  # a value file deleted under us reads as a miss, as in get()
                    found[name] = index._disk.fetch(mode, filename, value, False)
        return found

    def usable(self, key: str) -> Record | None:
        """The record for a key whose blob is present (a cheap size check), else None."""
        record = self.get(key)
        return record if record is not None and self.has_blob(record.sha256, record.bytes) else None

    def put(self, record: Record) -> None:
        """Store a record (after its blob is in place)."""
        self.index.set(_RECORD + record.key, record.to_json())

    def delete(self, key: str) -> None:
        """Forget a record."""
        self.index.delete(_RECORD + key)

    def keys(self) -> Iterator[str]:
        """Every render key in the index."""
        if self._index is None and not self.exists():
            return
        for k in list(self.index.iterkeys()):
            if isinstance(k, str) and k.startswith(_RECORD):
                yield k[len(_RECORD) :]

    def task_ids(self) -> set[str]:
        """The task id of every render in the index: tasks a lost create must never be matched to."""
        ids = set()
        for key in self.keys():
            record = self.get(key)
            if record is not None and record.task_id:
                ids.add(record.task_id)
                ids.update(s["task_id"] for s in record.shots if s.get("task_id"))
        return ids

    def blob_path(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        return self.layout.blob(sha256)

    def has_blob(self, sha256: str, size: int) -> bool:
        """Cheap check: the blob exists with the expected size."""
        return _sized(self.layout.blob_name(sha256), size)

    def add_blob(self, tmp_file: Path, sha256: str) -> Path:
        """Move a fully written, verified temp file into the blob store atomically."""
        dest = self.blob_path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_file, dest)
        fsync_dir(dest.parent)
        return dest

    def add_blob_copy(self, src: Path, sha256: str) -> Path:
        """Copy a file already hashed as ``sha256`` into the blob store (a clone where the filesystem has one)."""
        tmp = self.temp_path(f"{sha256}.adopt")
        try:
            _clone(src, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self.add_blob(tmp, sha256)

    def export_blob(self, sha256: str, size: int, dest: Path) -> bool:
        """Copy a blob to ``dest`` (a clone where the filesystem has one) unless it is there with its size
        already; False when the cache no longer holds the blob. For previews: the output stat is not recorded."""
        if not self.has_blob(sha256, size):
            return False
        try:
            if dest.stat().st_size == size:
                return True
        except FileNotFoundError:
            pass
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = output_temp(dest)
        try:
            _clone(self.blob_path(sha256), tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dest)
        return True

    def mark(self, namespace: str, key: str) -> None:
        """Remember a fact about a key (``namespace`` names it), e.g. that a remote holds its render."""
        self.index.set(f"{namespace}:{key}", "1")

    def marked(self, namespace: str, key: str) -> bool:
        """Whether ``mark(namespace, key)`` was recorded."""
        if self._index is None and not self.exists():
            return False
        return self.index.get(f"{namespace}:{key}") is not None

    def drop_blob(self, sha256: str) -> None:
        """Remove a blob (corrupt or unreferenced)."""
        with contextlib.suppress(FileNotFoundError):
            self.blob_path(sha256).unlink()

    def temp_path(self, name: str) -> Path:
        """A temp file path inside the cache (same filesystem as the blobs, so renames are atomic)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / name

    def materialize(self, record: Record, dest: Path, *, verify: bool = True) -> bool:
        """Copy a blob to ``dest`` atomically; False (blob dropped) if it is missing or corrupt.

        ``verify`` re-hashes the blob first: every reuse does; a blob stored moments ago by this build was
        hashed while it downloaded and is not read twice. Its download may also have written ``dest``'s temp
        from the same bytes as it went (``Job.copy_to``): that temp, at the blob's size, is renamed into place
        instead of copying the blob again.
        """
        src = self.blob_path(record.sha256)
        if not src.is_file():
            self.problems.append(f"blob {record.sha256[:12]} is missing from the cache")
            return False
        if verify and sha256_file(src) != record.sha256:
            self.drop_blob(record.sha256)
            self.problems.append(f"blob {record.sha256[:12]} was corrupt and has been dropped")
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = output_temp(dest)
        if verify or not _sized(tmp, record.bytes):
            try:
                _clone(src, tmp)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        self.record_output(dest, record.sha256)
        return True

    def record_output(self, path: Path, sha256: str) -> None:
        """Remember the stat of an output renderkit wrote, so a no-op build can trust it cheaply."""
        st = path.stat()
        self.index.set(
            _OUTPUT + os.path.abspath(path),
            json.dumps([sha256, st.st_size, st.st_mtime_ns, st.st_ino]),
        )

    def output_fresh(self, path: Path, sha256: str) -> bool:
        """Whether ``path`` is still the file renderkit wrote with this digest (stat check only)."""
        return bool(self.fresh_outputs({str(path): sha256}))

    def fresh_outputs(self, wanted: Mapping[str, str]) -> set[str]:
        """Which of these output paths (path -> sha256) are still the files renderkit wrote (stats, few queries)."""
        if not wanted or (self._index is None and not self.exists()):
            return set()
        names = {path: _OUTPUT + os.path.abspath(path) for path in wanted}
        stamps = self._values(list(names.values()))
        fresh = set()
        for path, sha256 in wanted.items():
            text = stamps.get(names[path])
            if text is None:
                continue
            try:
                st = os.stat(path)
            except OSError:  # missing, or a file stands where its folder should be: not fresh either way
                continue
            if json.loads(text) == [sha256, st.st_size, st.st_mtime_ns, st.st_ino]:
                fresh.add(path)
        return fresh

    def clean_tmp(self, keep: set[str]) -> None:
        """Delete temp files left by a killed run, except partial downloads still worth resuming."""
        if not self.tmp.is_dir():
            return
        for entry in self.tmp.iterdir():
            if entry.name not in keep:
                entry.unlink(missing_ok=True)
