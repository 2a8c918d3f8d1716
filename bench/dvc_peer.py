"""The no-op peer of ``bench/build.py``: a DVC project of N stages, one per scene, in the state a finished
``dvc repro`` leaves it, so DVC's no-op ``dvc repro`` can be timed in the same run as renderkit's.

Each stage is what a scene is to renderkit: one input (``in/I.txt``, the scene's prompt) and one output
(``out/I.txt``, its render), made by a command (``cp``). DVC's own first ``dvc repro`` runs the N commands one by
one and rewrites ``dvc.lock`` after each (about 20 minutes for 1,000 stages here), so the project is written as that
run would leave it: outputs in place, each in DVC's cache, ``dvc.lock`` with every md5 and size. One warm-up
``dvc repro`` must then skip every stage (proof that the lock is DVC's own) and fills DVC's state database, as
the first real rebuild would. DVC is not a dependency: this runs only when a ``dvc`` executable is given or found.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

SKIPPED = "didn't change, skipping"


def find_dvc(given: str | None) -> str | None:
    """The ``dvc`` executable to time: the one given, else the one on PATH, else None."""
    if given:
        return given if Path(given).is_file() and os.access(given, os.X_OK) else None
    return shutil.which("dvc")


def version(dvc: str) -> str:
    """``dvc --version``, for the report."""
    return subprocess.run([dvc, "--version"], capture_output=True, text=True, timeout=120, check=True).stdout.strip()


def make_project(folder: Path, dvc: str, stages: int) -> list[str]:
    """Write the project of ``stages`` stages into ``folder``; return the command that is its no-op rebuild."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=folder, check=True, timeout=300)
    (folder / "in").mkdir()
    (folder / "out").mkdir()
    pipeline, lock = ["stages:"], ["schema: '2.0'", "stages:"]
    for i in range(stages):
        data = f"scene {i}: a paper boat on a rainy street\n".encode()
        md5 = hashlib.md5(data).hexdigest()  # DVC's own content hash
        (folder / "in" / f"{i}.txt").write_bytes(data)
        (folder / "out" / f"{i}.txt").write_bytes(data)
        cached = folder / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(data)
        command = f"cp in/{i}.txt out/{i}.txt"
        pipeline += [f"  s{i}:", f"    cmd: {command}", f"    deps: [in/{i}.txt]", f"    outs: [out/{i}.txt]"]
        lock += [f"  s{i}:", f"    cmd: {command}"]
        for kind, path in (("deps", f"in/{i}.txt"), ("outs", f"out/{i}.txt")):
            lock += [
                f"    {kind}:",
                f"    - path: {path}",
                "      hash: md5",
                f"      md5: {md5}",
                f"      size: {len(data)}",
            ]
    (folder / "dvc.yaml").write_text("\n".join(pipeline) + "\n", encoding="utf-8")
    (folder / "dvc.lock").write_text("\n".join(lock) + "\n", encoding="utf-8")
    rebuild = [dvc, "--cd", str(folder), "repro"]
    warm = subprocess.run(rebuild, capture_output=True, text=True, timeout=3600, check=False)
    skipped = warm.stdout.count(SKIPPED)
    if warm.returncode != 0 or skipped != stages:
        tail = "\n".join((warm.stdout + warm.stderr).strip().splitlines()[-10:])
        raise SystemExit(
            f"bench: DVC's warm-up `dvc repro` skipped {skipped} of {stages} stages (exit {warm.returncode}); "
            f"the written project is not what this DVC expects:\n{tail}"
        )
    return rebuild
