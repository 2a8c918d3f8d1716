"""The asset bundle CI hands on: the outputs, the lock and ``index.json`` in one byte-reproducible zip.

The same lock and renders give the same bytes on any machine: entries sorted by name, stored (videos are
compressed already), a fixed timestamp and mode, and nothing from the environment. Every file is checked
against the lock as it is copied in, so a bundle never carries a render the lock does not pin.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from renderkit.errors import LockfileError, RenderkitError
from renderkit.manifest.load import load_manifest
from renderkit.store.files import temp_beside
from renderkit.store.layout import bundle_path, lock_path
from renderkit.store.lockfile import read_lock

INDEX = "index.json"
INDEX_FORMAT = 1
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch
CHUNK = 1 << 20


class BundleError(RenderkitError):
    """A file the lock pins is missing or differs, so no bundle was written."""


@dataclass(frozen=True)
class Member:
    """One file of a bundle, as index.json describes it."""

    name: str
    sha256: str
    bytes: int


def bundle(manifest_path: Path, out: Path | None = None) -> tuple[Path, int]:
    """Write the bundle of ``manifest_path``'s lock to ``out``; return its path and how many scenes it holds."""
    manifest = load_manifest(manifest_path)
    lock_file = lock_path(manifest.path)
    lock = read_lock(lock_file)
    if lock is None:
        raise LockfileError(f"{lock_file}: no lock to bundle; run `renderkit build` first")
    scenes = {s.id: s for s in manifest.scenes}
    prices = manifest.catalog
    index = []
    for scene_id in sorted(lock.entries):
        entry = lock.entries[scene_id]
        scene = scenes.get(scene_id)
        index.append(
            {
                "id": entry.id,
                "file": entry.file,
                "sha256": entry.sha256,
                "bytes": entry.bytes,
                "seconds": entry.seconds,
                "size": entry.size,
                "model": entry.model,
                "prompt": scene.request.prompt if scene else None,
                "task_id": entry.task_id,
                "cost_usd": prices.cost(entry.model, entry.size, entry.seconds),
            }
        )
    doc = {"format": INDEX_FORMAT, "lock": lock_file.name, "scenes": index}
    target = out or bundle_path(manifest.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(target)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            files = {e.file: e for e in lock.entries.values()}
            for name in sorted({INDEX, lock_file.name, *files}):
                info = _info(name)
                if name == INDEX:
                    zf.writestr(info, json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
                elif name == lock_file.name:
                    zf.writestr(info, lock_file.read_bytes())
                else:
                    _copy_checked(zf, info, manifest.root / name, files[name].sha256, files[name].bytes)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, len(index)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3  # unix, so the mode below is read as one
    info.external_attr = 0o644 << 16
    return info


def _copy_checked(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, sha256: str, size: int) -> None:
    """Stream ``path`` into the zip, refusing it unless it is the file the lock pins."""
    digest = hashlib.sha256()
    copied = 0
    try:
        with path.open("rb") as src, zf.open(info, "w", force_zip64=size > 2**31) as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                copied += len(chunk)
                dst.write(chunk)
    except FileNotFoundError:
        raise BundleError(f"{path} is missing; run `renderkit build` (or `renderkit pull`) to restore it") from None
    if copied != size or digest.hexdigest() != sha256:
        raise BundleError(
            f"{path} is not the file the lock pins (sha256 {digest.hexdigest()[:12]}…, lock says {sha256[:12]}…); "
            "run `renderkit build` to restore it, then bundle again"
        )


def check_bundle(path: Path) -> Iterator[tuple[str, str | None]]:
    """(member, problem or None) for every file index.json lists, and for anything it does not."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield path.name, f"not a readable zip ({exc})"
        return
    with zf:
        try:
            doc = json.loads(zf.read(INDEX))
            listed = {str(s["file"]): Member(str(s["file"]), str(s["sha256"]), int(s["bytes"])) for s in doc["scenes"]}
            lock_name = str(doc["lock"])
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
            yield INDEX, f"missing or unreadable ({exc})"
            return
        names = set(zf.namelist())
        for name in sorted(names - set(listed) - {INDEX, lock_name}):
            yield name, "is in the bundle but not in index.json"
        if lock_name not in names:
            yield lock_name, "missing from the bundle"
        for name in sorted(listed):
            yield name, _check_member(zf, listed[name], names)


def _check_member(zf: zipfile.ZipFile, member: Member, names: set[str]) -> str | None:
    if member.name not in names:
        return "missing from the bundle"
    digest = hashlib.sha256()
    size = 0
    try:
        with zf.open(member.name) as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, OSError) as exc:
        return f"cannot be read ({exc})"
    if size != member.bytes:
        return f"{size} bytes, index.json says {member.bytes}"
    if digest.hexdigest() != member.sha256:
        return f"sha256 {digest.hexdigest()[:12]}…, index.json says {member.sha256[:12]}…"
    return None
