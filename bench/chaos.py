"""Chaos bench: kill builds at random points under random faults, run every fault kind, and let the provider lie.

Run: ``.venv/bin/python bench/chaos.py [--trials 200] [--seed 1] [--quick] [--workers N] [--only SECTION]``.

Three sections, each ending in one table whose bad columns should all read 0:

1. ``kill``: per seeded trial, a fresh project of 6-10 scenes (some remixes, continuations, extensions and one
   pair of identical requests) on a simulator with a random mix of faults, lossy creates included. A
   ``renderkit build`` subprocess gets SIGKILL, SIGTERM or SIGINT at a seeded point (the journal holds N intents
   or N tasks, N outputs exist, or a random delay has passed), then builds are rerun until one exits 0. A scene
   that keeps asking for ``--force`` (its create's answer was lost and renderkit cannot prove it was not paid)
   gets it on the next rerun, counted as consent, not as a duplicate. Then: creates per request (from the
   simulator's own task list), ``renderkit verify``, every locked task's bytes against the simulator's, temp
   files, tracebacks, the key in any output, and the exit code per signal.
2. ``matrix``: every fault kind the simulator has x where it applies (create, poll, content, list) x provider
   kind (simulator, openai, generations, unified), one build and a rerun each.
3. ``lies``: a provider that lies about size or speed, refuses forever, echoes the key or is not there: wall
   time, peak RSS of the build alone (measured by a tiny launcher process), exit code, and whether the key
   shows anywhere.

The simulator runs as ``renderkit sim`` in its own process, one per worker, steered through ``/_sim/reset`` and
``/_sim/config`` between trials (what the command-line flags would set). Every build is a subprocess on
127.0.0.1; every loop has a count and every wait a deadline; temporary projects are removed.

The module is import-safe (nothing runs on import), so ``tests/trust/test_chaos.py`` loads it by path and runs a
short seeded slice with the same checks.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import queue
import random
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]  # the checkout whose renderkit every child runs
KEY_ENV = "SIM_API_KEY"
CHILD_TIMEOUT = 180.0  # seconds any one build may take before the bench kills it and reports it as hung
TRIGGER_TIMEOUT = 60.0
MAX_RERUNS = 8
TEMP_SUFFIX = ".renderkit-tmp"  # renderkit.store.layout.OUTPUT_TEMP_SUFFIX
EXPECTED_EXIT = {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -9}
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}

T = TypeVar("T")
R = TypeVar("R")


# -- processes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """One finished subprocess."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float
    hung: bool = False

    @property
    def text(self) -> str:
        return self.out + "\n" + self.err


def new_key() -> str:
    """A fresh secret-looking API key; the bench checks that no form of it is ever shown."""
    return f"sk-chaos-{secrets.token_hex(16)}"


def child_env(key: str | None) -> dict[str, str]:
    """The caller's environment without keys, proxies or renderkit settings, plus ``SIM_API_KEY``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().endswith(("_API_KEY", "_PROXY")) and not name.upper().startswith("RENDERKIT_")
    }
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    if key is not None:
        env[KEY_ENV] = key
    return env


def run(argv: Sequence[str], *, env: Mapping[str, str], timeout: float = CHILD_TIMEOUT) -> Ran:
    """Run ``argv`` to the end (killed after ``timeout``) and return its exit code and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=dict(env))
        hung = False
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            proc.kill()
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.monotonic() - start
        return Ran(tuple(argv), code, _read(out), _read(err), seconds, hung)


def _read(fh: Any) -> str:
    fh.seek(0)
    return str(fh.read().decode("utf-8", errors="replace"))


def renderkit(*args: str) -> list[str]:
    return [PYTHON, "-m", "renderkit", *args]


# -- the simulator ---------------------------------------------------------------------------------------------


class Sim:
    """A running simulator reached over HTTP: its control routes and, with a key, its task list and content."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._client = httpx.Client(base_url=base_url, timeout=60.0, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def _control(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def setup(self, **config: Any) -> None:
        """Forget every task, count and fault, then adopt ``config`` (SimConfig field names)."""
        self._control("POST", "/_sim/reset")
        self._control("POST", "/_sim/config", config)

    def ledger(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "/_sim/ledger")
        return result

    def warm(self, path: str) -> None:
        """Send one request to ``path`` and read only its headers: the simulator builds a gzip bomb once, on the
        first request it hits, and that one-off cost must not count against the build being measured."""
        # Building a 1 GB bomb takes seconds on an idle machine and far longer on a loaded one.
        with self._client.stream("GET", path, headers=_bearer("sk-warm-up-only"), timeout=600.0) as response:
            response.headers.get("content-length")

    def clear_faults(self) -> None:
        self._control("DELETE", "/_sim/faults")

    def tasks(self, key: str) -> list[dict[str, Any]]:
        """Every task ``key`` owns, oldest first, read through the list route (call with faults cleared)."""
        out: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(1000):
            params = {"limit": "100", "order": "asc", **({"after": after} if after else {})}
            response = self._client.get("/v1/videos", params=params, headers=_bearer(key))
            response.raise_for_status()
            page = response.json()
            out += page["data"]
            if not page["has_more"]:
                return out
            after = page["last_id"]
        raise RuntimeError("the simulator's task list did not end")

    def content_sha256(self, key: str, task_id: str) -> str | None:
        """The sha256 of a task's video as the simulator serves it now, or None if it does not serve it."""
        digest = hashlib.sha256()
        with self._client.stream("GET", f"/v1/videos/{task_id}/content", headers=_bearer(key)) as response:
            if response.status_code != 200:
                return None
            for chunk in response.iter_bytes():
                digest.update(chunk)
        return digest.hexdigest()


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


class SimProcess:
    """``renderkit sim`` in its own process on 127.0.0.1; its stderr is kept to count tracebacks."""

    def __init__(self, *flags: str) -> None:
        self._flags = flags
        self._proc: subprocess.Popen[str] | None = None
        self._err = tempfile.TemporaryFile()
        self.sim: Sim | None = None

    def __enter__(self) -> Sim:
        argv = renderkit("sim", "--host", "127.0.0.1", "--port", "0", "--fps", "4", *self._flags)
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err, text=True, env=child_env(None)
        )
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], 30.0)
        line = self._proc.stdout.readline().strip() if ready else ""
        prefix = "renderkit simulator listening on "
        if not line.startswith(prefix + "http://127.0.0.1:"):
            self.__exit__(None, None, None)
            raise SystemExit(f"chaos: renderkit sim did not start: {line!r}")
        self.sim = Sim(line.removeprefix(prefix))
        return self.sim

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.sim is not None:
            self.sim.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()

    def stderr(self) -> str:
        """What the simulator printed to stderr so far (tracebacks there are bugs in the simulator)."""
        return _read(self._err)

    def close(self) -> None:
        self._err.close()


# -- projects --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """One scene of a generated manifest: plain, or linked to an earlier scene."""

    id: str
    prompt: str
    link: str | None = None  # remix_of | continue_from | extend_of
    upstream: str | None = None


LINKS = {
    "simulator": ("remix_of", "continue_from", "extend_of"),
    "openai": ("remix_of", "continue_from", "extend_of"),
    "generations": ("continue_from",),
    "unified": (),
}


def make_scenes(rng: random.Random, count: int, kind: str, tag: str) -> list[Scene]:
    """``count`` scenes with distinct prompts, some linked to an earlier one, and one pair of identical requests."""
    scenes: list[Scene] = []
    for i in range(count):
        prompt = f"{tag} shot {i}: {rng.choice(['a lighthouse', 'a red kite', 'rain on glass', 'a night tram'])}"
        links = LINKS[kind]
        if i >= 2 and links and rng.random() < 0.3:
            link = rng.choice(links)
            upstream = rng.choice([s for s in scenes if s.link is None]).id
            scenes.append(Scene(f"s{i}", prompt, link, upstream))
        else:
            scenes.append(Scene(f"s{i}", prompt))
    if count >= 4 and rng.random() < 0.5:
        # Two scenes with one request: rendered and charged once, copied to both outputs.
        twin = scenes[1]
        scenes.append(Scene(f"s{count}", twin.prompt))
    return scenes


def manifest_text(base_url: str, kind: str, scenes: Sequence[Scene], provider: Mapping[str, object]) -> str:
    """A manifest with one provider of ``kind`` at ``base_url`` and ``scenes``."""
    settings = {"kind": kind, "base_url": base_url, "api_key_env": KEY_ENV, "poll_interval": 0.1, **provider}
    lines = ["version: 1", "providers:", "  main:"]
    lines += [f"    {name}: {json.dumps(value)}" for name, value in settings.items()]
    lines += ["defaults:", "  provider: main", "  model: sora-2", "  size: 1280x720", "  seconds: 4", "scenes:"]
    for scene in scenes:
        lines += [f"  - id: {scene.id}", f"    prompt: {json.dumps(scene.prompt)}"]
        if scene.link is not None:
            lines.append(f"    {scene.link}: {scene.upstream}")
    return "\n".join(lines) + "\n"


@contextmanager
def project_dir(prefix: str) -> Iterator[Path]:
    """A temporary project folder, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=f"renderkit-chaos-{prefix}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def journal_states(root: Path) -> Counter[str]:
    """How many journal lines of each state the build has written so far (a torn last line is skipped)."""
    counts: Counter[str] = Counter()
    try:
        data = (root / ".renderkit" / "journal.jsonl").read_bytes()
    except OSError:
        return counts
    for line in data.splitlines():
        try:
            counts[str(json.loads(line)["state"])] += 1
        except (ValueError, KeyError, TypeError):
            continue
    return counts


def outputs(root: Path) -> int:
    try:
        return sum(1 for _ in (root / "renders").glob("*.mp4"))
    except OSError:
        return 0


def temp_files(root: Path) -> list[str]:
    """Partial downloads in the cache and hidden output temps: none may be left after a successful build."""
    left = list((root / ".renderkit" / "tmp").glob("*"))
    left += list(root.rglob(f".*{TEMP_SUFFIX}"))
    return sorted(str(p.relative_to(root)) for p in left)


def read_lock(root: Path) -> dict[str, dict[str, Any]]:
    """Scene id -> lock entry (empty when there is no lock)."""
    try:
        doc = json.loads((root / "renderkit.lock").read_text())
    except (OSError, ValueError):
        return {}
    return {str(e["id"]): e for e in doc.get("scenes", [])}


def secret_forms(key: str) -> tuple[str, ...]:
    """The key plain and base64-encoded (standard and URL-safe, padded or not): how a gateway might echo it."""
    forms = {key}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(key.encode()).decode("ascii")
        forms |= {text, text.rstrip("=")}
    return tuple(forms)


def key_shown(key: str, texts: Sequence[str], root: Path) -> bool:
    """Whether any form of ``key`` is in ``texts`` (stdout, stderr) or in any text file of the project."""
    corpus = list(texts)
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".lock", ".json", ".yaml", ".txt", ".zip"):
            corpus.append(path.read_bytes().decode("utf-8", errors="replace"))
    return any(form in text for form in secret_forms(key) for text in corpus)


def tracebacks(texts: Sequence[str]) -> int:
    return sum(text.count("Traceback (most recent call last)") for text in texts)


def forced_asks(report: Mapping[str, Any] | None) -> set[str]:
    """The failed scenes whose reason asks for ``--force ID``."""
    if report is None:
        return set()
    return {
        s["id"]
        for s in report.get("scenes", [])
        if s.get("status") == "failed" and f"--force {s['id']}" in str(s.get("reason", ""))
    }


def failure_reasons(report: Mapping[str, Any] | None, ids: set[str]) -> dict[str, str]:
    """Scene id -> the reason it failed, for ``ids``."""
    if report is None:
        return {}
    return {str(s["id"]): str(s.get("reason", "")) for s in report.get("scenes", []) if s["id"] in ids}


def parse_report(out: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(out)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


# -- the audit after a trial -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """What the provider charged and what the project holds, checked against each other."""

    creates: int  # the simulator's ledger
    tasks: int  # tasks in the simulator's list (must equal creates)
    requests: int  # distinct requests the manifest asks for
    duplicates: int  # tasks beyond one per request, not counting failed tasks or --force consents
    wrong: int  # locked scenes whose task is another request's, or whose bytes are not that task's
    unlocked: int  # scenes missing from the lock
    verify: int  # `renderkit verify` exit code (None-like 2 when there is no lock)
    temp_left: tuple[str, ...]
    journal_left: int  # unfinished journal entries after the last build
    verify_run: Ran


def audit(sim: Sim, key: str, root: Path, scenes: Sequence[Scene], forced: Counter[str]) -> Audit:
    """Compare the simulator's tasks with the manifest, the lock and the files; run `renderkit verify`."""
    sim.clear_faults()
    ledger = sim.ledger()
    tasks = sim.tasks(key)
    prompt_of = {s.id: s.prompt for s in scenes}
    wanted = set(prompt_of.values())
    per_prompt: Counter[str] = Counter(str(t["prompt"]) for t in tasks if t["status"] != "failed")
    consented: Counter[str] = Counter()
    for scene_id, times in forced.items():
        consented[prompt_of[scene_id]] += times
    duplicates = sum(max(0, n - 1 - consented[p]) for p, n in per_prompt.items() if p in wanted)
    duplicates += sum(n for p, n in per_prompt.items() if p not in wanted)
    by_id = {str(t["id"]): t for t in tasks}
    lock = read_lock(root)
    wrong = 0
    for scene_id, entry in lock.items():
        task = by_id.get(str(entry["task_id"]))
        if task is None or task["prompt"] != prompt_of.get(scene_id):
            wrong += 1
        elif sim.content_sha256(key, str(entry["task_id"])) not in (None, entry["sha256"]):
            wrong += 1
    verified = run(renderkit("verify", str(root / "renderkit.yaml")), env=child_env(None))
    left = journal_states(root)
    return Audit(
        creates=int(ledger["creates"]),
        tasks=len(tasks),
        requests=len(wanted),
        duplicates=duplicates,
        wrong=wrong,
        unlocked=len(set(prompt_of) - set(lock)),
        verify=verified.code,
        temp_left=tuple(temp_files(root)),
        journal_left=left["intent"] - left["done"] if left else 0,
        verify_run=verified,
    )


# -- 1. kill trials --------------------------------------------------------------------------------------------

KILL_FAULTS = (
    "poll:503:0.2",
    "poll:500:0.1",
    "poll:drop:0.1",
    "poll:429=0.05:0.1",
    "content:truncate=0.5:0.2",
    "content:drop:0.1",
    "content:503:0.1",
    "create:429=0.05:0.2",
    "create:drop-after:0.1",  # lossy: recorded and charged, then the answer is lost
    "create:drop:0.05",  # lossy for the client, nothing recorded
    "create:503:0.05",  # may have been paid, says the client; the simulator recorded nothing
    "list:503:0.2",
)


@dataclass(frozen=True)
class KillPlan:
    """One seeded kill trial."""

    seed: int
    signal: str  # SIGINT | SIGTERM | SIGKILL
    trigger: str  # intents | tasks | outputs | delay
    at: float  # N for the counters, seconds for delay
    kind: str
    dialect: str
    latency: float
    faults: tuple[str, ...]
    scenes: tuple[Scene, ...]

    def describe(self) -> str:
        at = f"{self.at:.2f}s" if self.trigger == "delay" else f">={self.at:g}"
        return f"seed {self.seed} {self.kind}/{self.dialect} {self.signal} at {self.trigger}{at} faults {self.faults}"


def plan_kill(seed: int) -> KillPlan:
    """The seeded choices of one trial."""
    rng = random.Random(f"chaos-kill-{seed}")
    kind = rng.choice(("simulator", "simulator", "openai", "generations"))
    scenes = tuple(make_scenes(rng, rng.randint(6, 8), kind, f"t{seed}"))
    distinct = len({s.prompt for s in scenes})
    trigger = rng.choice(("intents", "tasks", "tasks", "outputs", "delay"))
    at = float(rng.randint(1, distinct - 1)) if trigger != "delay" else round(rng.uniform(0.0, 2.0), 2)
    return KillPlan(
        seed=seed,
        signal=rng.choice(tuple(SIGNALS)),
        trigger=trigger,
        at=at,
        kind=kind,
        dialect=rng.choice(("openai", "openai", "envelope")) if kind == "generations" else "openai",
        latency=round(rng.uniform(0.2, 0.6), 2),
        faults=tuple(f for f in KILL_FAULTS if rng.random() < 0.35),
        scenes=scenes,
    )


@dataclass(frozen=True)
class KillResult:
    """How one kill trial went."""

    plan: KillPlan
    signalled: bool  # False: the build ended before the trigger
    exit_code: int
    builds: int  # builds run after the killed one
    converged: bool  # one of them exited 0
    asked_force: int  # scenes that asked for --force twice in a row (and got it)
    force_reasons: tuple[str, ...]
    audit: Audit
    tracebacks: int
    key_shown: bool
    hung: bool
    seconds: float
    last_err: str
    builds_seen: tuple[tuple[int, float, int], ...] = ()  # (exit code, seconds, scenes forced) per build

    @property
    def exit_ok(self) -> bool:
        return not self.signalled or self.exit_code == EXPECTED_EXIT[self.plan.signal]


def wait_for_trigger(proc: subprocess.Popen[bytes], plan: KillPlan, root: Path, started: float) -> bool:
    """Poll (with a deadline) until the plan's trigger point; False if the build ended first."""
    deadline = time.monotonic() + TRIGGER_TIMEOUT
    underway_at: float | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        states = journal_states(root)
        if plan.trigger == "intents":
            reached = states["intent"] >= plan.at
        elif plan.trigger == "tasks":
            reached = states["task"] >= plan.at
        elif plan.trigger == "outputs":
            reached = outputs(root) >= plan.at
        else:
            # SIGKILL may land anywhere, start-up included; SIGINT and SIGTERM count from the first journal line.
            if plan.signal == "SIGKILL":
                underway_at = started
            elif underway_at is None and states:
                underway_at = time.monotonic()
            reached = underway_at is not None and time.monotonic() - underway_at >= plan.at
        if reached:
            return proc.poll() is None
        time.sleep(0.005)
    return proc.poll() is None


def kill_trial(sim: Sim, plan: KillPlan) -> KillResult:
    """Run one kill trial on ``sim`` and audit it."""
    key = new_key()
    env = child_env(key)
    sim.setup(seed=plan.seed, latency=plan.latency, faults=list(plan.faults), dialect=plan.dialect)
    started = time.monotonic()
    with project_dir(f"kill{plan.seed}") as root:
        manifest = root / "renderkit.yaml"
        manifest.write_text(manifest_text(sim.base_url, plan.kind, plan.scenes, {"timeout": 120}))
        argv = renderkit("build", str(manifest), "--json")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
            try:
                signalled = wait_for_trigger(proc, plan, root, time.monotonic())
                if signalled:
                    proc.send_signal(SIGNALS[plan.signal])
                code = proc.wait(timeout=CHILD_TIMEOUT)
                hung = False
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
                hung = True
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            first = Ran(tuple(argv), code, _read(out), _read(err), time.monotonic() - started, hung)
        runs = [first]
        forced_per_run = [0]
        forced: Counter[str] = Counter()
        reasons: dict[str, str] = {}
        streak: Counter[str] = Counter()  # consecutive builds that asked for --force of a scene
        converged = False
        for _ in range(MAX_RERUNS):
            # Consent is given like a careful user gives it: only when a plain rerun asks again.
            force = sorted(s for s, n in streak.items() if n >= 2)
            forced.update(force)
            rerun = run([*argv, *(["--force", ",".join(force)] if force else [])], env=env)
            runs.append(rerun)
            forced_per_run.append(len(force))
            hung = hung or rerun.hung
            if rerun.code == 0:
                converged = True
                break
            report = parse_report(rerun.out)
            asks = forced_asks(report)
            reasons.update(failure_reasons(report, asks))
            streak = Counter({s: (0 if s in force else streak[s]) + 1 for s in asks})
        checked = audit(sim, key, root, plan.scenes, forced)
        texts = [r.text for r in runs] + [checked.verify_run.text]
        return KillResult(
            plan=plan,
            signalled=signalled,
            exit_code=first.code,
            builds=len(runs) - 1,
            converged=converged,
            asked_force=sum(forced.values()),
            force_reasons=tuple(reasons[s] for s in sorted(forced)),
            audit=checked,
            tracebacks=tracebacks(texts),
            key_shown=key_shown(key, texts, root),
            hung=hung,
            seconds=time.monotonic() - started,
            last_err=runs[-1].err[-2000:],
            builds_seen=tuple((r.code, r.seconds, n) for r, n in zip(runs, forced_per_run, strict=True)),
        )


def kill_table(results: Sequence[KillResult], wall: float) -> str:
    """The summary table of the kill trials, one row per signal and a total."""
    head = (
        f"{'signal':<8} {'trials':>6} {'signalled':>9} {'exit codes seen':<22} {'wrong exit':>10} {'reruns':>6} "
        f"{'--force':>7} {'creates':>7} {'requests':>8} {'dup creates':>11} {'wrong render':>12} {'corrupt':>7} "
        f"{'unlocked':>8} {'temp left':>9} {'tracebacks':>10} {'key shown':>9} {'hung':>4} {'not converged':>13}"
    )
    lines = [head]
    groups = [(name, [r for r in results if r.plan.signal == name]) for name in SIGNALS]
    groups.append(("total", list(results)))
    for name, rows in groups:
        codes = Counter(r.exit_code for r in rows if r.signalled)
        seen = ", ".join(f"{c}x{n}" for c, n in sorted(codes.items())) or "-"
        ended = sum(not r.signalled for r in rows)
        if ended:
            seen += f" (+{ended} done first)"
        lines.append(
            f"{name:<8} {len(rows):>6} {sum(r.signalled for r in rows):>9} {seen:<22} "
            f"{sum(not r.exit_ok for r in rows):>10} {sum(r.builds for r in rows):>6} "
            f"{sum(r.asked_force for r in rows):>7} {sum(r.audit.creates for r in rows):>7} "
            f"{sum(r.audit.requests for r in rows):>8} {sum(r.audit.duplicates for r in rows):>11} "
            f"{sum(r.audit.wrong for r in rows):>12} {sum(r.audit.verify != 0 for r in rows):>7} "
            f"{sum(r.audit.unlocked for r in rows if r.converged):>8} {sum(bool(r.audit.temp_left) for r in rows):>9} "
            f"{sum(r.tracebacks for r in rows):>10} {sum(r.key_shown for r in rows):>9} "
            f"{sum(r.hung for r in rows):>4} {sum(not r.converged for r in rows):>13}"
        )
    triggers = Counter(r.plan.trigger for r in results)
    kinds = Counter(r.plan.kind for r in results)
    lines.append(
        f"triggers: {dict(sorted(triggers.items()))}; kinds: {dict(sorted(kinds.items()))}; "
        f"creates beyond one per request with --force consent: "
        f"{sum(r.audit.creates - r.audit.requests for r in results)}; wall {wall:.1f}s"
    )
    return "\n".join(lines)


def kill_bad(result: KillResult) -> list[str]:
    """What went wrong in one trial (empty when every invariant held)."""
    a = result.audit
    problems = [
        f"exit {result.exit_code} after {result.plan.signal}" if not result.exit_ok else "",
        f"{a.duplicates} duplicate create(s)" if a.duplicates else "",
        f"{a.wrong} wrong render(s)" if a.wrong else "",
        f"verify exit {a.verify}" if a.verify else "",
        f"temp files left {list(a.temp_left)}" if a.temp_left else "",
        f"{result.tracebacks} traceback(s)" if result.tracebacks else "",
        "key shown" if result.key_shown else "",
        "a build hung" if result.hung else "",
        f"no build exited 0 in {MAX_RERUNS} reruns" if not result.converged else "",
        f"{a.unlocked} scene(s) missing from the lock" if a.unlocked and result.converged else "",
        f"ledger creates {a.creates} != listed tasks {a.tasks}" if a.creates != a.tasks else "",
    ]
    return [p for p in problems if p]


# -- 2. fault matrix -------------------------------------------------------------------------------------------

KINDS = ("simulator", "openai", "generations", "unified")
WHERES = ("create", "poll", "content", "list")
FAULT_KINDS = (
    "429",
    "500",
    "503",
    "drop",
    "drop-after",
    "truncate",
    "slow",
    "fail",
    "expire",
    "huge",
    "bomb",
    "endless",
    "trickle",
    "pages",
)
# What each fault does where (a spec template), and where it means something. The simulator applies fail and
# expire to create routes only (expire to content too), pages to the list route only.
APPLIES = {
    "fail": ("create",),
    "expire": ("create", "content"),
    "pages": ("list",),
}


def matrix_spec(where: str, fault: str) -> str:
    """The fault spec of one matrix cell: transient faults hit the first two requests, lies the first one."""
    if fault == "429":
        return f"{where}:429=0.05:@1-2"
    if fault in ("500", "503"):
        return f"{where}:{fault}:@1-2"
    return {
        "drop": f"{where}:drop:@1",
        "drop-after": f"{where}:drop-after:@1",
        "truncate": f"{where}:truncate=0.5:@1-2",
        "slow": f"{where}:slow=0.3:@1-2",
        "fail": f"{where}:fail:@1",
        "expire": f"{where}:expire:@1",
        "huge": f"{where}:huge=20:@1",
        "bomb": f"{where}:bomb=20:@1",
        "endless": f"{where}:endless:@1",
        "trickle": f"{where}:trickle={'0.05' if where == 'content' else '0.002'}:@1",
        "pages": f"{where}:pages:@1",
    }[fault]


@dataclass(frozen=True)
class MatrixRow:
    kind: str
    where: str
    fault: str

    @property
    def specs(self) -> tuple[str, ...]:
        spec = matrix_spec(self.where, self.fault)
        # The list route is read only to find a create whose answer was lost, so lose one first.
        return ("create:drop-after:@1", spec) if self.where == "list" else (spec,)


def matrix_rows(quick: bool) -> list[MatrixRow]:
    """Every fault kind x where it applies x provider kind (no list route on generations and unified)."""
    rows = []
    for kind in KINDS:
        for where in WHERES:
            if where == "list" and kind in ("generations", "unified"):
                continue
            for fault in FAULT_KINDS:
                if where not in APPLIES.get(fault, WHERES):
                    continue
                if fault == "pages" and where != "list":
                    continue
                rows.append(MatrixRow(kind, where, fault))
    if quick:
        picked = [("openai", "create", "drop-after"), ("generations", "create", "503"), ("simulator", "poll", "bomb")]
        picked += [("openai", "content", "truncate"), ("unified", "content", "endless"), ("openai", "list", "pages")]
        rows = [r for r in rows if (r.kind, r.where, r.fault) in picked]
    return rows


MATRIX_SCENES = 3
MATRIX_PROVIDER = {"max_download_mb": 5, "stall_timeout": 0.5, "timeout": 60}


@dataclass(frozen=True)
class MatrixResult:
    row: MatrixRow
    fired: int
    codes: tuple[int, int]
    audit: Audit
    scenes: int
    tracebacks: int
    key_shown: bool
    hung: bool
    seconds: float
    last_err: str


def matrix_cell(sim: Sim, row: MatrixRow, seed: int) -> MatrixResult:
    """One build and a rerun with ``row``'s fault on."""
    key = new_key()
    env = child_env(key)
    sim.setup(seed=seed, latency=0.3, faults=list(row.specs), dialect="openai")
    started = time.monotonic()
    scenes = [Scene(f"s{i}", f"m{seed} {row.kind} {row.where} {row.fault} shot {i}") for i in range(MATRIX_SCENES)]
    with project_dir(f"matrix{seed}") as root:
        manifest = root / "renderkit.yaml"
        manifest.write_text(manifest_text(sim.base_url, row.kind, scenes, MATRIX_PROVIDER))
        argv = renderkit("build", str(manifest), "--json")
        first = run(argv, env=env)
        fired = sum(int(n) for n in sim.ledger()["faults"].values())
        second = run(argv, env=env)
        checked = audit(sim, key, root, scenes, Counter())
        texts = [first.text, second.text, checked.verify_run.text]
        return MatrixResult(
            row=row,
            fired=fired,
            codes=(first.code, second.code),
            audit=checked,
            scenes=len(scenes),
            tracebacks=tracebacks(texts),
            key_shown=key_shown(key, texts, root),
            hung=first.hung or second.hung,
            seconds=time.monotonic() - started,
            last_err=(first.err + second.err)[-3000:],
        )


def matrix_bad(result: MatrixResult) -> list[str]:
    a = result.audit
    problems = [
        f"{a.duplicates} duplicate create(s)" if a.duplicates else "",
        f"{a.wrong} wrong render(s)" if a.wrong else "",
        f"verify exit {a.verify}" if a.verify not in (0, 2) else "",
        f"{result.tracebacks} traceback(s)" if result.tracebacks else "",
        "key shown" if result.key_shown else "",
        "a build hung" if result.hung else "",
        f"exit codes {result.codes}" if any(c not in (0, 1) for c in result.codes) else "",
        f"temp files left {list(a.temp_left)}" if a.temp_left and result.codes[1] == 0 else "",
    ]
    return [p for p in problems if p]


def matrix_table(results: Sequence[MatrixResult], wall: float) -> str:
    head = (
        f"{'kind':<11} {'where':<7} {'fault':<10} {'fired':>5} {'exit':>4} {'rerun':>5} {'creates':>7} {'scenes':>6} "
        f"{'dup':>3} {'wrong':>5} {'traceback':>9} {'verify':>6} {'key':>4} {'secs':>6}  note"
    )
    lines = [head]
    for r in results:
        a = r.audit
        verify = {0: "ok", 2: "no lock"}.get(a.verify, f"FAIL {a.verify}")
        note = "; ".join(matrix_bad(r))
        if not note and r.codes[1] != 0:
            note = _reason(r.last_err)
        lines.append(
            f"{r.row.kind:<11} {r.row.where:<7} {r.row.fault:<10} {r.fired:>5} {r.codes[0]:>4} {r.codes[1]:>5} "
            f"{a.creates:>7} {r.scenes:>6} {a.duplicates:>3} {a.wrong:>5} {'yes' if r.tracebacks else 'no':>9} "
            f"{verify:>6} {'YES' if r.key_shown else 'no':>4} {r.seconds:>6.1f}  {note}"
        )
    bad = sum(bool(matrix_bad(r)) for r in results)
    total_tb = sum(r.tracebacks for r in results)
    dups = sum(r.audit.duplicates for r in results)
    lines.append(
        f"{len(results)} cells: {bad} with a problem, {total_tb} tracebacks, {dups} duplicate creates, "
        f"{sum(r.audit.wrong for r in results)} wrong renders, {sum(r.key_shown for r in results)} keys shown, "
        f"{sum(r.fired == 0 for r in results)} cells whose fault never fired; wall {wall:.1f}s"
    )
    return "\n".join(lines)


def _reason(err: str) -> str:
    """The last FAILED line of a build's stderr, shortened: why the rerun did not exit 0."""
    failed = [line for line in err.splitlines() if "FAILED" in line or line.startswith("renderkit: ")]
    text = failed[-1].removeprefix("renderkit: ") if failed else ""
    return text if len(text) <= 110 else text[:107] + "..."


# -- 3. lies ---------------------------------------------------------------------------------------------------

# Runs the build as its only child and prints the child's peak RSS. A child's ru_maxrss is floored at its parent's
# at fork, so the parent must be this small interpreter, not the bench. argv: TIMEOUT OUT ERR COMMAND...
LAUNCHER = """
import json, resource, subprocess, sys, time
timeout, out, err, argv = float(sys.argv[1]), open(sys.argv[2], "wb"), open(sys.argv[3], "wb"), sys.argv[4:]
start = time.monotonic()
try:
    code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout).returncode
except subprocess.TimeoutExpired:
    code = None
print(json.dumps({"code": code, "seconds": time.monotonic() - start,
                  "rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass(frozen=True)
class Lie:
    """A provider that lies, refuses or is not there, and the words the build must answer it with."""

    name: str
    kind: str
    faults: tuple[str, ...] = ()
    provider: Mapping[str, object] = field(default_factory=dict)
    config: Mapping[str, object] = field(default_factory=dict)  # simulator settings
    unreachable: bool = False
    expect: str = ""


LIES = (
    Lie("huge poll answer, 1 GB", "simulator", ("poll:huge=1000",), {"timeout": 8}, expect="more than 8 MiB"),
    Lie("gzip bomb poll answer, 1 GB", "simulator", ("poll:bomb=1000",), {"timeout": 8}, expect="more than 8 MiB"),
    Lie("endless video body", "openai", ("content:endless",), {"max_download_mb": 5}, expect="(max_download_mb)"),
    Lie("video trickles 1 B per 0.5 s", "openai", ("content:trickle=0.5",), {"stall_timeout": 0.5}, expect="stall"),
    Lie("endless list, lost create", "openai", ("create:drop-after:@1", "list:pages"), expect="past 50 pages"),
    Lie("429 forever", "simulator", ("create:429=0.01",), expect="refused 20 creates"),
    Lie(
        "wrong key, echoed back",
        "openai",
        config={"api_keys": ["the-right-key-0123456789"], "echo_key": True},
        expect="HTTP 401",
    ),
    Lie("unreachable base_url", "simulator", unreachable=True, expect="could not connect"),
    Lie("1 GB video body", "unified", ("content:huge=1000",), {"max_download_mb": 5}, expect="(max_download_mb)"),
    Lie(
        "gzip bomb video body, 1 GB",
        "openai",
        ("content:bomb=1000",),
        {"max_download_mb": 5},
        expect="(max_download_mb)",
    ),
    Lie("poll answer trickles", "generations", ("poll:trickle=0.5",), {"timeout": 8}, expect="timed out after 8s"),
    Lie("503 forever on polls", "openai", ("poll:503",), {"timeout": 10}, expect="timed out after 10s"),
    Lie("task never finishes", "simulator", provider={"timeout": 4}, config={"latency": 3600}, expect="timed out"),
)


@dataclass(frozen=True)
class LieResult:
    """How one build under a lie went."""

    lie: Lie
    code: int | None  # None: it did not end within CHILD_TIMEOUT
    seconds: float
    rss_mib: float
    key_shown: bool
    tracebacks: int
    said: bool  # the expected words are in its stderr
    message: str

    @property
    def bad(self) -> list[str]:
        problems = [
            f"exit {self.code}" if self.code != 1 else "",
            "key shown" if self.key_shown else "",
            f"{self.tracebacks} traceback(s)" if self.tracebacks else "",
            f"no '{self.lie.expect}' in stderr" if not self.said else "",
            f"peak RSS {self.rss_mib:.0f} MiB" if self.rss_mib >= 200 else "",
        ]
        return [p for p in problems if p]


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def lie_run(sim: Sim, lie: Lie, seed: int, scenes: int = 2) -> LieResult:
    """One build under ``lie``, started by the launcher so that the build's own peak RSS is measured."""
    key = new_key()
    # /_sim/reset keeps the settings, so every lie states the ones another lie may have changed.
    honest = {"seed": seed, "latency": 0.3, "dialect": "openai", "api_keys": [], "echo_key": False}
    config = {**honest, "faults": list(lie.faults), **lie.config}
    sim.setup(**config)
    for spec in lie.faults:
        if ":bomb" in spec:
            sim.warm("/v1/videos/video_warm_up" + ("/content" if spec.startswith("content:") else ""))
            sim.setup(**config)
    base_url = f"http://127.0.0.1:{free_port()}" if lie.unreachable else sim.base_url
    shots = [Scene(f"s{i}", f"lie {seed} shot {i}") for i in range(scenes)]
    with project_dir(f"lie{seed}") as root:
        manifest = root / "renderkit.yaml"
        manifest.write_text(manifest_text(base_url, lie.kind, shots, lie.provider))
        out, err = root / "build.out.txt", root / "build.err.txt"
        build = renderkit("build", str(manifest), "--json")
        launched = run(
            [PYTHON, "-c", LAUNCHER, str(CHILD_TIMEOUT), str(out), str(err), *build],
            env=child_env(key),
            timeout=CHILD_TIMEOUT + 30,
        )
        try:
            figures = json.loads(launched.out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            figures = {"code": launched.code, "seconds": launched.seconds, "rss_kib": 0}
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
        texts = [stdout, stderr, launched.err]
        said = [line for line in stderr.splitlines() if line.startswith("renderkit: ") and "warning:" not in line]
        return LieResult(
            lie=lie,
            code=figures["code"],
            seconds=float(figures["seconds"]),
            rss_mib=float(figures["rss_kib"]) / 1024,
            key_shown=key_shown(key, texts, root),
            tracebacks=tracebacks(texts),
            said=lie.expect in stderr,
            message=said[-1].removeprefix("renderkit: ") if said else "",
        )


def lies_table(results: Sequence[LieResult], wall: float) -> str:
    head = (
        f"{'lie':<30} {'kind':<10} {'exit':>4} {'wall':>7} {'peak RSS':>9} {'key shown':>9} {'traceback':>9}  message"
    )
    lines = [head]
    for r in results:
        message = r.message if len(r.message) <= 100 else r.message[:97] + "..."
        if r.bad:
            message = f"PROBLEM {'; '.join(r.bad)}: {message}"
        lines.append(
            f"{r.lie.name:<30} {r.lie.kind:<10} {r.code!s:>4} {r.seconds:>6.1f}s {r.rss_mib:>5.1f} MiB "
            f"{'YES' if r.key_shown else 'no':>9} {'yes' if r.tracebacks else 'no':>9}  {message}"
        )
    worst = max((r.rss_mib for r in results), default=0.0)
    slowest = max((r.seconds for r in results), default=0.0)
    lines.append(
        f"{len(results)} lies: {sum(bool(r.bad) for r in results)} with a problem; peak RSS at most {worst:.1f} MiB "
        f"(target < 200), slowest {slowest:.1f}s; wall {wall:.1f}s"
    )
    return "\n".join(lines)


# -- running it ------------------------------------------------------------------------------------------------


@dataclass
class SimLog:
    """Tracebacks the simulator processes printed (a bug in the simulator, not in renderkit), with a sample."""

    tracebacks: int = 0
    sample: str = ""

    def add(self, stderr: str) -> None:
        count = tracebacks([stderr])
        if count:
            self.tracebacks += count
            start = stderr.find("Traceback (most recent call last)")
            self.sample = self.sample or stderr[max(0, start - 300) : start + 3000]


def on_workers(items: Sequence[T], work: Callable[[Sim, T], R], workers: int, sim_seed: int) -> tuple[list[R], SimLog]:
    """``work(sim, item)`` for every item, on ``workers`` threads that each own a simulator process; in order."""
    todo: queue.Queue[tuple[int, T]] = queue.Queue()
    for pair in enumerate(items):
        todo.put(pair)
    results: dict[int, R] = {}
    errors: list[BaseException] = []
    log = SimLog()
    lock = threading.Lock()

    def worker() -> None:
        holder = SimProcess("--seed", str(sim_seed))
        try:
            with holder as sim:
                while not errors:
                    try:
                        index, item = todo.get_nowait()
                    except queue.Empty:
                        return
                    results[index] = work(sim, item)
        except BaseException as exc:  # re-raised by the main thread
            errors.append(exc)
        finally:
            with lock:
                log.add(holder.stderr())
            holder.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(workers, len(items))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [results[i] for i in range(len(items))], log


def sim_note(log: SimLog) -> str:
    if not log.tracebacks:
        return "simulator processes: no tracebacks"
    return f"simulator processes printed {log.tracebacks} traceback(s); the first:\n{log.sample}"


def section_kill(trials: int, seed: int, workers: int, verbose: bool) -> bool:
    started = time.monotonic()
    plans = [plan_kill(seed * 100_000 + i) for i in range(trials)]
    results, log = on_workers(plans, kill_trial, workers, seed)
    wall = time.monotonic() - started
    if verbose:
        for r in results:
            builds = " ".join(f"{c}/{s:.1f}s" + (f"/force{f}" if f else "") for c, s, f in r.builds_seen)
            print(f"  {r.seconds:5.1f}s {r.plan.describe()}: builds {builds}")
    print(f"\n== kill trials: {trials} builds killed at seeded points, then rerun until one exits 0 ==")
    print(kill_table(results, wall))
    print(sim_note(log))
    bad = [(r, kill_bad(r)) for r in results if kill_bad(r)]
    for r, problems in bad[:20]:
        print(f"  PROBLEM {r.plan.describe()}: {'; '.join(problems)}")
        print("    " + "\n    ".join(r.last_err.strip().splitlines()[-6:]))
    return not bad


def section_matrix(quick: bool, seed: int, workers: int) -> bool:
    started = time.monotonic()
    rows = matrix_rows(quick)
    cells = [(row, seed * 100_000 + i) for i, row in enumerate(rows)]
    results, log = on_workers(cells, lambda sim, cell: matrix_cell(sim, *cell), workers, seed)
    print(f"\n== fault matrix: {len(rows)} cells, {MATRIX_SCENES} scenes each, one build then a rerun ==")
    print(matrix_table(results, time.monotonic() - started))
    print(sim_note(log))
    return not any(matrix_bad(r) for r in results)


def section_lies(quick: bool, seed: int) -> bool:
    started = time.monotonic()
    lies = [LIES[i] for i in (1, 2, 6)] if quick else list(LIES)
    cells = [(lie, seed * 100_000 + i) for i, lie in enumerate(lies)]
    # One at a time: the RSS and wall time of each build are measured alone.
    results, log = on_workers(cells, lambda sim, cell: lie_run(sim, *cell), 1, seed)
    print(f"\n== lying provider: {len(lies)} lies, one build each, peak RSS of the build process alone ==")
    print(lies_table(results, time.monotonic() - started))
    print(sim_note(log))
    return not any(r.bad for r in results)


SECTIONS = ("kill", "matrix", "lies")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=200, help="kill trials (default 200; 6 with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    parser.add_argument("--quick", action="store_true", help="a handful of each section")
    parser.add_argument("--workers", type=int, default=max(1, min(3, os.cpu_count() or 1)), help="parallel trials")
    parser.add_argument("--verbose", action="store_true", help="one line per kill trial")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    args = parser.parse_args(argv)
    trials = 6 if args.quick and args.trials == 200 else args.trials
    sections = args.only or list(SECTIONS)
    started = time.monotonic()
    print(
        f"renderkit bench/chaos.py ({'quick' if args.quick else 'full'} run), seed {args.seed}, "
        f"{os.cpu_count()} CPUs, {args.workers} workers, {PYTHON}"
    )
    ok = True
    if "kill" in sections:
        ok &= section_kill(trials, args.seed, args.workers, args.verbose)
    if "matrix" in sections:
        ok &= section_matrix(args.quick, args.seed, args.workers)
    if "lies" in sections:
        ok &= section_lies(args.quick, args.seed)
    print(
        f"\nchaos finished in {time.monotonic() - started:.0f}s: {'every invariant held' if ok else 'PROBLEMS above'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
