"""``renderkit build`` against the targets of issue 14, every figure measured in this one run.

Run: ``.venv/bin/python bench/build.py [--quick] [--only SECTION ...]``. The full run takes 7 to 25 minutes on two
cores, by the machine's speed, most of it the 10,000-scene build; ``--quick`` (smaller sizes, to check that the
bench works, not for the targets) about ten.

Sections, in the order they run (bench/README.md says how each figure is taken and why):

- ``noop``: a no-op rebuild of 1,000 cached scenes, with the memo and without it (the memo deleted before each
  run), against DVC's no-op ``dvc repro`` of 1,000 stages and ``python -c "import renderkit"``. DVC is timed in
  the same rounds when a ``dvc`` executable is found (``--dvc PATH``, else PATH; ``bench/dvc_peer.py``), else its
  figure is a labelled reference.
- ``download``: one 1 GiB video (256 MiB with ``--quick``): peak RSS and wall time of a one-scene
  ``renderkit build`` against the SDK's ``download_content(...).write_to_file`` of the same file (the target's
  peer) and its streaming ``stream_to_file`` (printed, no target).
- ``cold``: cold builds in the regime where the provider's in-flight cap binds, at a fixed latency and at a
  latency drawn per task from U(1, 3) s; makespan over the bound max(N/rate, ceil(N/cap) * latency), requests
  per render, and whether polls honour the ``openai-poll-after-ms`` hint.
- ``scale``: a 10,000-scene cold build (2,000 with ``--quick``) whose results live 10x the latency: results
  expired before their download, the largest download backlog and the oldest result at download; then the
  full no-op path at that size against the one at 1,000 (linearity).

Latencies are scaled down about 5x from the issue's regimes (2 s fixed; U(1, 3) s for its U(5, 15) s) so the
run fits in minutes; every target is a ratio to a bound computed from the same latency.

Every measured command runs under ``bench/launcher.py`` (a ``python -S`` process of a few MiB that forks, execs
and reaps it), so its peak RSS is its own, not the bench's. The simulator runs in its own process
(``bench/simhost.py``: ``renderkit sim`` plus a request trace), steered through its ``/_sim`` routes. Everything
stays on 127.0.0.1, every loop has a count and every wait a timeout.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

if not __package__:  # run as a script, bench/ is on sys.path but the repository (which holds the package) is not
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import dvc_peer

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "launcher.py"
SIMHOST = HERE / "simhost.py"
PEER = HERE / "peer_openai_sdk.py"
PYTHON = sys.executable
API_KEY = "sk-bench"
GIB = 1 << 30
MIB = 1 << 20
# DVC is not a dependency; without a dvc executable, its no-op time is a reference measured once (issue 14).
DVC_REFERENCE = 8.3
DVC_NOTE = "DVC 3.67.1 no-op `dvc repro` of 1,000 stages, measured on this machine"
# A small video keeps the simulator's encode and renderkit's frame-by-frame check cheap, so that on two cores
# the figures measure scheduling and I/O rather than H.264 at 1280x720. Real renders take minutes, not seconds.
MODEL = "bench-small"
SIZE = "160x90"
SECONDS = 4
POLL_ROUTE = "GET /v1/videos/{video_id}"
CONTENT_ROUTE = "GET /v1/videos/{video_id}/content"
CREATE_ROUTE = "POST /v1/videos"
# renderkit's download slots are 4 and it starts no create while twice that many finished renders wait for one and
# the oldest has waited BACKLOG_GRACE (renderkit/execute/scheduler.py: Executor(downloads=4), max_backlog =
# 2 * downloads); no manifest setting moves either.
GATE = 8
GRACE = 1.0


@dataclass(frozen=True)
class Cold:
    """One cold-build scenario: the simulator's limits, mirrored in the manifest, and the targets."""

    name: str
    scenes: int
    cap: int  # unfinished tasks the simulator accepts; the manifest's max_in_flight
    latency: float  # create to completed, seconds (the mean, when spread)
    spread: float  # latency drawn per task from U(latency - spread, latency + spread)
    rpm: int  # creates per 60 s window on both sides
    span_target: float
    requests_target: float


@dataclass(frozen=True)
class Settings:
    """The sizes of one run."""

    noop_scenes: int
    repeats: int
    download_bytes: int
    cold: tuple[Cold, ...]
    scale_scenes: int
    scale_repeats: int
    scale_cap: int
    scale_latency: float
    scale_ttl: float


FULL = Settings(
    noop_scenes=1000,
    repeats=5,
    download_bytes=GIB,
    cold=(
        Cold("fixed latency", 300, 20, 2.0, 0.0, 1200, 1.05, 3.3),
        Cold("latency U(1, 3) s", 200, 20, 2.0, 1.0, 1200, 1.15, 4.5),
    ),
    scale_scenes=10_000,
    scale_repeats=2,
    scale_cap=100,
    scale_latency=2.0,
    scale_ttl=20.0,
)
QUICK = replace(
    FULL,
    repeats=3,
    download_bytes=256 * MIB,
    cold=(
        Cold("fixed latency", 200, 20, 1.5, 0.0, 1200, 1.05, 3.3),
        Cold("latency U(1, 3) s", 40, 20, 2.0, 1.0, 1200, 1.15, 4.5),
    ),
    scale_scenes=2000,
)


# -- figures ----------------------------------------------------------------------------------------------------


@dataclass
class Verdicts:
    """Every judged figure of the run, for the summary at the end."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def judge(self, label: str, value: float, target: float, fmt: str = ".3f", note: str = "") -> bool:
        """Print ``label  value  target <= T  ok|MISS``; lower is better for every figure of this bench."""
        ok = value <= target
        self._say(label, format(value, fmt), f"<= {format(target, fmt)}", "ok" if ok else "MISS", note)
        return ok

    def unmeasured(self, label: str, target: str, why: str) -> None:
        """A figure this run could not take, and why."""
        self._say(label, "-", target, "NOT MEASURED", why)

    def _say(self, label: str, value: str, target: str, verdict: str, note: str) -> None:
        print(f"{label:44}{value:>12}   target {target:<10} {verdict:5} {note}".rstrip())
        self.rows.append((label, value, target, verdict))

    def summary(self) -> None:
        """The figures again, in one table."""
        print("\n== summary ==")
        for label, value, target, verdict in self.rows:
            print(f"{label:44}{value:>12}   target {target:<10} {verdict}")
        missed = sum(v == "MISS" for *_, v in self.rows)
        unmeasured = sum(v == "NOT MEASURED" for *_, v in self.rows)
        ok = len(self.rows) - missed - unmeasured
        print(f"{len(self.rows)} figures: {ok} ok, {missed} MISS, {unmeasured} not measured")


VERDICTS = Verdicts()


# -- processes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    """How one measured command went (as ``bench/launcher.py`` saw it)."""

    seconds: float
    returncode: int
    peak_rss: int  # bytes
    cpu: float  # user + system seconds
    stdout: str
    stderr: str


def run_child(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None) -> Child:
    """Run ``argv`` under the launcher; its wall time (fork to reap), exit code, peak RSS and CPU time."""
    with tempfile.TemporaryDirectory(prefix="rk-bench-run-") as tmp:
        result, out, err = Path(tmp) / "result.json", Path(tmp) / "stdout", Path(tmp) / "stderr"
        command = [PYTHON, "-I", "-S", str(LAUNCHER), str(result), str(timeout), *argv]
        with out.open("wb") as fout, err.open("wb") as ferr:
            proc = subprocess.Popen(command, stdout=fout, stderr=ferr, env=None if env is None else dict(env))
            try:
                proc.wait(timeout + 60)
            except BaseException:  # Ctrl-C or a launcher that hangs: the launcher passes SIGTERM on
                proc.terminate()
                proc.wait(30)
                raise
        report = json.loads(result.read_text(encoding="utf-8"))
        if report["timed_out"]:
            raise SystemExit(f"bench: {argv[:4]} did not finish within {timeout:.0f}s")
        return Child(
            seconds=report["seconds"],
            returncode=report["returncode"],
            peak_rss=report["peak_rss"],
            cpu=report["cpu"],
            stdout=out.read_text(encoding="utf-8", errors="replace"),
            stderr=err.read_text(encoding="utf-8", errors="replace"),
        )


def checked(child: Child, what: str) -> Child:
    """``child`` if it exited 0; otherwise stop the bench with its stderr."""
    if child.returncode != 0:
        tail = "\n".join(child.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"bench: {what} exited {child.returncode} after {child.seconds:.1f}s:\n{tail}")
    return child


# No cache override; and bytecode may be written, as a pip install compiles it: a shell that forbids writing it
# would time Python's compiler on every module edited since the last test run.
_UNSET = ("RENDERKIT_CACHE_DIR", "PYTHONDONTWRITEBYTECODE")


def build_env() -> dict[str, str]:
    """The bench's environment with the simulator key set and no cache override, proxy or bytecode ban."""
    env = {k: v for k, v in os.environ.items() if k not in _UNSET and "proxy" not in k.lower()}
    env["SIM_API_KEY"] = API_KEY
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    return env


def renderkit_build(
    manifest: Path, *, timeout: float, json_report: bool = True, failures_ok: bool = False
) -> tuple[Child, dict[str, Any]]:
    """``python -m renderkit build MANIFEST [--json]`` as the user runs it (plain progress on stderr).

    With ``failures_ok``, exit 1 (some scenes failed, the rest kept) is a result to report, not the bench's end.
    """
    argv = [PYTHON, "-m", "renderkit", "build", str(manifest)] + (["--json"] if json_report else [])
    child = run_child(argv, timeout=timeout, env=build_env())
    if not (failures_ok and json_report and child.returncode == 1 and child.stdout.strip()):
        checked(child, "renderkit build")
    report: dict[str, Any] = json.loads(child.stdout) if json_report else {}
    return child, report


def failure_reasons(report: Mapping[str, Any], limit: int = 3) -> list[str]:
    """The first few failed scenes' reasons, shortened."""
    failed = [s for s in report["scenes"] if s["status"] == "failed"]
    return [f"{s['id']}: {str(s['reason'])[:110]}" for s in failed[:limit]]


class SimProcess:
    """``bench/simhost.py`` on 127.0.0.1 in its own process, steered through its control routes."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._client: httpx.Client | None = None
        self.base_url = ""

    def __enter__(self) -> SimProcess:
        self._proc = subprocess.Popen(
            [PYTHON, str(SIMHOST)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=build_env()
        )
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], 30.0)
        line = self._proc.stdout.readline().strip() if ready else ""
        self.base_url = line.rsplit(" ", 1)[-1]
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.__exit__(None, None, None)
            raise SystemExit(f"bench: the simulator did not start: {line!r}")
        self._client = httpx.Client(base_url=self.base_url, timeout=60.0, trust_env=False)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            self._client.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=15)
            if self._proc.stdout is not None:
                self._proc.stdout.close()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        assert self._client is not None
        response = self._client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def accepts(self, **settings: Any) -> bool:
        """Whether this simulator has these settings (SimConfig fields); they are set when it does."""
        assert self._client is not None
        response = self._client.post("/_sim/config", json=settings)
        if response.status_code == 400 and "unknown setting" in response.text:
            return False
        response.raise_for_status()
        return True

    def setup(self, **config: Any) -> None:
        """Forget every task, count and trace, then adopt ``config`` over the bench's defaults."""
        settings = {"latency": 1.0, "ttl": 3600.0, "rpm": None, "rate_window": 60.0, "max_in_flight": None}
        settings |= {"pad_to": None, "fps": 1, "poll_after_ms": None, **config}
        self._call("POST", "/_sim/reset")
        self._call("POST", "/_sim/config", settings)

    def ledger(self) -> dict[str, Any]:
        """Creates, requests per route, responses per status."""
        result: dict[str, Any] = self._call("GET", "/_sim/ledger")
        return result

    def trace(self) -> Trace:
        """What the provider saw since the last setup or trace, and when (see bench/simhost.py)."""
        return Trace(self._call("GET", f"/_bench/trace?key={API_KEY}"))


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temp folder removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_manifest(folder: Path, base_url: str, count: int, *, cap: int, tag: str, rpm: int | None = None) -> Path:
    """A renderkit.yaml with ``count`` distinct scenes on the simulator at ``base_url``."""
    limits = f"max_in_flight: {cap}" + (f", rpm: {rpm}" if rpm else "")
    lines = [
        "version: 1",
        "providers:",
        f"  main: {{kind: simulator, base_url: {base_url}, api_key_env: SIM_API_KEY, {limits}}}",
        f"models: {{{MODEL}: {{sizes: [{SIZE}], seconds: [{SECONDS}], usd_per_second: 0.1, kinds: [simulator]}}}}",
        f"defaults: {{provider: main, model: {MODEL}, size: {SIZE}, seconds: {SECONDS}}}",
        "scenes:",
    ]
    lines += [f'  - {{id: s{i:05d}, prompt: "{tag} {i}: a paper boat on a rainy street"}}' for i in range(count)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "renderkit.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def requests_of(ledger: Mapping[str, Any]) -> int:
    """Every request the simulator answered or refused."""
    return sum(int(n) for n in ledger["requests"].values())


def by_route(ledger: Mapping[str, Any], n: int) -> str:
    """Requests per render by route, short names."""
    short = {CREATE_ROUTE: "create", POLL_ROUTE: "poll", CONTENT_ROUTE: "content"}
    return ", ".join(f"{short.get(r, r)} {c / n:.2f}" for r, c in sorted(ledger["requests"].items()))


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; 0 when empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def mib(n: float) -> str:
    """Bytes as MiB with one decimal."""
    return f"{n / MIB:.1f} MiB"


# -- the provider's view: bench/simhost.py's trace -----------------------------------------------------------------


class Trace:
    """Per task: when it was created and ready, when it was polled, when its download was asked for."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.hint = int(doc["poll_after_ms"]) / 1000
        self.created: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self.latency: dict[str, float] = {}
        self.ttl: dict[str, float] = {}
        for task_id, created, latency, ttl in doc["tasks"]:
            self.created[task_id] = created
            self.ready[task_id] = created + latency
            self.latency[task_id] = latency
            self.ttl[task_id] = ttl
        self.polls: dict[str, list[float]] = {t: [] for t in self.created}
        self.download: dict[str, float] = {}  # first content request, arrival
        self.download_seconds: dict[str, float] = {}  # that request, arrival to the last byte handed over
        self.first = math.inf
        self.last = 0.0
        for arrived, finished, method, path, _status in doc["requests"]:
            self.first, self.last = min(self.first, arrived), max(self.last, finished)
            parts = path.strip("/").split("/")
            if method != "GET" or parts[:2] != ["v1", "videos"] or len(parts) not in (3, 4):
                continue
            task_id = parts[2]
            if task_id not in self.created:
                continue
            if len(parts) == 3:
                self.polls[task_id].append(arrived)
            elif parts[3] == "content" and task_id not in self.download:
                self.download[task_id] = arrived
                self.download_seconds[task_id] = finished - arrived

    def early_polls(self) -> int:
        """Polls that found the task still pending."""
        return sum(t < self.ready[i] for i, times in self.polls.items() for t in times)

    def seen_after(self) -> list[float]:
        """Per task, how long after it was ready the first poll that found it done arrived."""
        lags = []
        for task_id, times in self.polls.items():
            after = [t for t in times if t >= self.ready[task_id]]
            if after:
                lags.append(min(after) - self.ready[task_id])
        return lags

    def hint_gaps(self) -> list[float]:
        """Per poll, the time since the previous request about the same task (its create or its last poll), over
        the hint (the simulator sends the same hint on every pending answer)."""
        ratios = []
        for task_id, times in self.polls.items():
            previous = self.created[task_id]
            for t in sorted(times):
                ratios.append((t - previous) / self.hint)
                previous = t
        return ratios

    def waits(self) -> list[float]:
        """Per downloaded task, from ready to its download being asked for: how old the result was."""
        return [self.download[t] - self.ready[t] for t in self.download]

    def backlog_at(self, instants: Sequence[float]) -> tuple[int, list[int]]:
        """The most results that were ready at the provider and not yet being downloaded at any instant (a
        result never downloaded counts until the end), and how many there were at each of ``instants``."""
        events = [(ready, 1) for ready in self.ready.values()]
        events += [(d, -1) for d in self.download.values()]
        events += [(t, 2) for t in instants]  # a probe: after the changes of the same instant
        peak = level = 0
        seen: dict[float, int] = {}
        for when, step in sorted(events, key=lambda e: (e[0], e[1])):
            if step == 2:
                seen[when] = level
                continue
            level += step
            peak = max(peak, level)
        return peak, [seen[t] for t in instants]

    def oldest_waiting_at(self, instants: Sequence[float]) -> list[float]:
        """At each of ``instants``, how long the oldest result ready at the provider and not yet being downloaded
        had waited (0 when none was)."""
        results = sorted((ready, self.download.get(task, math.inf)) for task, ready in self.ready.items())
        waiting: list[tuple[float, float]] = []  # (ready, download asked) of results ready by now, oldest first
        ages, i = [], 0
        for t in sorted(instants):
            while i < len(results) and results[i][0] <= t:
                heapq.heappush(waiting, results[i])
                i += 1
            while waiting and waiting[0][1] <= t:
                heapq.heappop(waiting)
            ages.append(t - waiting[0][0] if waiting else 0.0)
        order = sorted(range(len(instants)), key=lambda k: instants[k])
        out = [0.0] * len(instants)
        for rank, k in enumerate(order):
            out[k] = ages[rank]
        return out


# -- 1. no-op rebuild -------------------------------------------------------------------------------------------


@dataclass
class NoopTimes:
    """Best and median wall times of one command over the repeats."""

    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the same runs

    def add(self, child: Child) -> None:
        self.runs.append(child.seconds)
        self.cpu.append(child.cpu)

    @property
    def best(self) -> float:
        return min(self.runs)

    def __str__(self) -> str:
        return (
            f"best {self.best:7.3f}s   median {statistics.median(self.runs):7.3f}s   CPU best {min(self.cpu):6.3f}s"
            f"   ({len(self.runs)} runs)"
        )


def memo_files(manifest: Path) -> list[Path]:
    """The no-op memo of the project (README "Files": ``.renderkit/noop/*.json``)."""
    return sorted((manifest.parent / ".renderkit" / "noop").glob("*.json"))


def noop_runs(
    manifest: Path, repeats: int, *, with_import: bool, peer: Sequence[str] | None = None
) -> dict[str, NoopTimes]:
    """The no-op build with the memo, without it (memo deleted before each run), the bare import and the peer's
    no-op (when given), interleaved round by round so that a burst of load on the machine hits them all alike."""
    times = {"memo": NoopTimes(), "full": NoopTimes(), "import": NoopTimes(), "peer": NoopTimes()}
    build = [PYTHON, "-m", "renderkit", "build", str(manifest)]
    env = build_env()
    for _ in range(repeats):
        if not memo_files(manifest):
            raise SystemExit("bench: no no-op memo after a clean build; the memo figure would be the full path")
        times["memo"].add(checked(run_child(build, timeout=600, env=env), "no-op build"))
        for memo in memo_files(manifest):
            memo.unlink()
        times["full"].add(checked(run_child(build, timeout=600, env=env), "no-op build, no memo"))
        if with_import:
            bare = [PYTHON, "-c", "import renderkit"]
            times["import"].add(checked(run_child(bare, timeout=60, env=env), "import renderkit"))
        if peer is not None:
            times["peer"].add(checked(run_child(peer, timeout=1800), "the peer's no-op"))
    return times


def noop_rebuild(settings: Settings, results: dict[str, float], dvc: str | None) -> None:
    """Build N scenes once, then time the rebuild that has nothing to do, with and without the memo, and DVC's."""
    n = settings.noop_scenes
    print(f"\n== no-op rebuild: {n:,} cached scenes, {settings.repeats} rounds ==")
    with SimProcess() as sim, scratch("rk-bench-noop-") as tmp:
        sim.setup(latency=0.5, max_in_flight=100)
        manifest = write_manifest(tmp / "rk", sim.base_url, n, cap=100, tag="noop")
        cold, report = renderkit_build(manifest, timeout=1800)
        if report["totals"]["rendered"] != n:
            raise SystemExit(f"bench: the cold build rendered {report['totals']['rendered']} of {n} scenes")
        print(f"cold build to fill the cache: {cold.seconds:.1f}s (not a figure)")
        peer = None
        if dvc is not None:
            started = time.perf_counter()
            peer = dvc_peer.make_project(tmp / "dvc", dvc, n)
            print(
                f"{dvc_peer.version(dvc)}: {n:,} stages written and warmed up in {time.perf_counter() - started:.1f}s"
            )
        before = requests_of(sim.ledger())
        times = noop_runs(manifest, settings.repeats, with_import=True, peer=peer)
        sent = requests_of(sim.ledger()) - before
    memo, full, bare = times["memo"], times["full"], times["import"]
    print(f"renderkit build, memo (the no-op)          {memo}")
    print(f"renderkit build, memo deleted (full path)  {full}")
    print(f'python -c "import renderkit"               {bare}')
    if peer is not None:
        dvc_best, dvc_cpu, name = times["peer"].best, min(times["peer"].cpu), "DVC, measured"
        print(f"dvc repro (no-op, {n:,} stages)            {times['peer']}")
        print(f"  for comparison, the reference without dvc: {DVC_NOTE}: {DVC_REFERENCE:g}s")
    else:
        dvc_best, dvc_cpu, name = DVC_REFERENCE, DVC_REFERENCE, "DVC reference"
        print(f"  REFERENCE, not measured here (no dvc executable; --dvc PATH): {DVC_NOTE}: {DVC_REFERENCE:g}s")
    print(f"requests sent to the provider by the {2 * settings.repeats} no-op builds: {sent}")
    results["full_1k"], results["full_1k_cpu"] = full.best, min(full.cpu)
    VERDICTS.judge(f"no-op with memo / {name}", memo.best / dvc_best, 1 / 100, ".4f", "(1/100)")
    VERDICTS.judge(f"no-op without memo / {name}", full.best / dvc_best, 1 / 30, ".4f", "(1/30)")
    VERDICTS.judge('no-op with memo / "import renderkit"', memo.best / bare.best, 2.0, ".2f")
    print(f"{'no-op without memo / import (not a target)':44}{full.best / bare.best:>12.2f}")
    # Wall time on a machine shared with other work stretches with the load; the CPU time a run consumed does not
    # (much): it is what the wall time would be on idle cores for these single-threaded, cached runs.
    print(
        f"{'  CPU time instead of wall: memo / DVC':44}{min(memo.cpu) / dvc_cpu:>12.4f}   "
        f"without memo / DVC {min(full.cpu) / dvc_cpu:.4f}   memo / import {min(memo.cpu) / min(bare.cpu):.2f}"
    )
    if sent:
        VERDICTS.judge("requests sent by no-op builds", sent, 0, "d")


# -- 2. download ------------------------------------------------------------------------------------------------


def download(settings: Settings) -> None:
    """One padded video: renderkit's one-scene build against the SDK's download_content, same file.

    A one-scene build of an unpadded (a few KB) video gives renderkit's baseline peak RSS, so the figure shows
    what the download itself adds as well as the absolute peak.
    """
    size = settings.download_bytes
    label = f"{size / GIB:g} GiB" if size >= GIB else f"{size // MIB} MiB"
    print(f"\n== download: one {label} video (an MP4 padded with a free box) ==")
    floor = checked(run_child(["/bin/true"], timeout=30), "/bin/true")
    with SimProcess() as sim, scratch("rk-bench-dl-") as tmp:
        sim.setup(latency=0.05)
        base, _ = renderkit_build(write_manifest(tmp / "base", sim.base_url, 1, cap=1, tag="small"), timeout=300)
        sim.setup(latency=0.05, pad_to=size)
        ours, report = renderkit_build(write_manifest(tmp / "rk", sim.base_url, 1, cap=1, tag="big"), timeout=600)
        ours_wire = sim.trace().download_seconds
        scene = report["scenes"][0]
        if scene["status"] != "rendered" or scene["bytes"] != size:
            raise SystemExit(f"bench: renderkit did not download the padded video: {scene}")
        shutil.rmtree(tmp / "rk")  # free the disk before the SDK writes its copy
        peers: dict[str, tuple[Child, dict[str, Any]]] = {}
        for mode in ("download", "stream"):
            target = tmp / f"sdk-{mode}.mp4"
            argv = [PYTHON, str(PEER), mode, "--base-url", sim.base_url, "--api-key", API_KEY]
            argv += ["--video-id", scene["task_id"], "--out", str(target)]
            child = checked(run_child(argv, timeout=600, env=build_env()), f"the SDK {mode}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            if result["bytes"] != size:
                raise SystemExit(f"bench: the SDK ({mode}) wrote {result['bytes']} bytes, expected {size}")
            target.unlink()
            peers[mode] = child, result
        sdk, sdk_result = peers["download"]
        stream, stream_result = peers["stream"]
    print(f"{'':58}{'peak RSS':>12}{'wall':>10}{'CPU':>9}")
    rows = (
        ("launcher floor (/bin/true through bench/launcher.py)", floor),
        ("renderkit build, unpadded video (its baseline)", base),
        (f"renderkit build, {label} (create+poll+download+check+output)", ours),
        (f"SDK download_content + write_to_file, {label}", sdk),
        (f"SDK with_streaming_response + stream_to_file, {label}", stream),
    )
    for name, child in rows:
        print(f"{name:58}{mib(child.peak_rss):>12}{child.seconds:>9.2f}s{child.cpu:>8.2f}s")
    print(f"  content route busy (simulator side), renderkit: {max(ours_wire.values(), default=0.0):.2f}s")
    print(
        f"  the SDK's own timers (download and write, no start-up): download_content {sdk_result['seconds']:.2f}s, "
        f"streaming {stream_result['seconds']:.2f}s"
    )
    above = ours.peak_rss - base.peak_rss
    VERDICTS.judge(
        "renderkit peak RSS, MiB", ours.peak_rss / MIB, 64.0, ".1f", f"({above / MIB:+.1f} MiB over baseline)"
    )
    print(f"{'renderkit peak RSS above its baseline, MiB':44}{above / MIB:>12.1f}   (not a target: growth with size)")
    VERDICTS.judge("download wall time / SDK download_content", ours.seconds / sdk.seconds, 0.6)
    print(f"{'download wall time / SDK streaming (no target)':44}{ours.seconds / stream.seconds:>12.3f}")


# -- 3. cold builds ---------------------------------------------------------------------------------------------


def cold_builds(settings: Settings) -> None:
    """Each cold scenario in turn, on a fresh simulator."""
    for spec in settings.cold:
        cold_scenario(spec)


def cold_scenario(spec: Cold) -> None:
    """N scenes where the in-flight cap binds; makespan over the bound, requests per render, poll spacing."""
    n, cap, latency = spec.scenes, spec.cap, spec.latency
    rate = spec.rpm / 60
    waves = math.ceil(n / cap)
    bound = max(n / rate, waves * latency)
    spread = f" drawn per task from U({latency - spec.spread:g}, {latency + spec.spread:g})" if spec.spread else ""
    print(f"\n== cold build, {spec.name}: {n} scenes, in-flight cap {cap}, latency {latency:g}s{spread} ==")
    print(
        f"simulator: max_in_flight {cap}, rpm {spec.rpm} per 60 s window; manifest: max_in_flight {cap}, "
        f"rpm {spec.rpm}; results live 1 h"
    )
    mean = "mean " if spec.spread else ""
    print(
        f"bound max(N/rate, ceil(N/cap)*{mean}latency) = max({n / rate:.1f}, {waves}*{latency:g}) = {bound:.1f}s "
        f"(cap-bound: {waves} waves)"
    )
    span_label = f"makespan / bound ({spec.name})"
    req_label = f"requests per render ({spec.name})"
    with SimProcess() as sim, scratch("rk-bench-cold-") as tmp:
        if spec.spread and not sim.accepts(latency=latency, latency_spread=spec.spread):
            why = "the simulator has no latency_spread setting (see bench/README.md)"
            VERDICTS.unmeasured(span_label, f"<= {spec.span_target:.3f}", why)
            VERDICTS.unmeasured(req_label, f"<= {spec.requests_target:.3f}", why)
            return
        extra = {"latency_spread": spec.spread} if spec.spread else {}
        sim.setup(latency=latency, max_in_flight=cap, rpm=spec.rpm, **extra)
        manifest = write_manifest(tmp / "rk", sim.base_url, n, cap=cap, rpm=spec.rpm, tag=f"cold {spec.name}")
        ours, report = renderkit_build(manifest, timeout=max(600.0, 10 * bound), failures_ok=True)
        ledger = sim.ledger()
        trace = sim.trace()
    totals = report["totals"]
    if totals["rendered"] + totals["failed"] != n:
        raise SystemExit(f"bench: renderkit rendered {totals['rendered']} and failed {totals['failed']} of {n}")
    realized = statistics.fmean(trace.latency.values()) if trace.latency else latency
    lags = trace.seen_after()
    gaps = trace.hint_gaps()
    short, half = sum(g < 0.9 for g in gaps), sum(g < 0.5 for g in gaps)
    print(
        f"renderkit build: {ours.seconds:.2f}s wall (spawn to exit), {ours.cpu:.1f}s CPU; provider busy "
        f"{trace.last - trace.first:.2f}s (first create to last byte); {totals['failed']} failed, "
        f"{ledger['responses'].get('429', 0)} answered 429"
    )
    print(
        f"  requests per render by route: {by_route(ledger, n)}; polls that found the task pending: "
        f"{trace.early_polls() / n:.2f} per render"
    )
    print(
        f"  a finished task was seen done after: median {statistics.median(lags) * 1000 if lags else 0:.0f} ms, "
        f"p90 {quantile(lags, 0.9) * 1000:.0f} ms, max {max(lags, default=0) * 1000:.0f} ms"
        + (f"; realized mean latency {realized:.2f}s" if spec.spread else "")
    )
    print(
        f"  poll spacing over the openai-poll-after-ms hint ({trace.hint * 1000:.0f} ms): min "
        f"{min(gaps, default=0):.2f}; of {len(gaps)} polls, {short} came sooner than 0.9x the hint and {half} "
        "sooner than 0.5x (arrival times at the simulator: transit jitter shortens some gaps)"
    )
    VERDICTS.judge(span_label, ours.seconds / bound, spec.span_target)
    VERDICTS.judge(req_label, requests_of(ledger) / n, spec.requests_target)
    VERDICTS.judge(f"polls sooner than half the hint ({spec.name})", half, 0, "d")
    if totals["failed"]:
        VERDICTS.judge(f"failed renders ({spec.name})", totals["failed"], 0, "d")


# -- 4. scale: many scenes, results that expire -------------------------------------------------------------------


def scale(settings: Settings, results: dict[str, float]) -> None:
    """A big cold build whose results expire ``scale_ttl`` after completion, then its no-op at that size."""
    n, cap, latency, ttl = settings.scale_scenes, settings.scale_cap, settings.scale_latency, settings.scale_ttl
    print(
        f"\n== scale: {n:,} scenes cold, in-flight cap {cap}, latency {latency:g}s, results expire {ttl:g}s "
        f"after completion ({ttl / latency:g}x the latency) =="
    )
    print(f"simulator: max_in_flight {cap}, no create rate limit, ttl {ttl:g}s; manifest: max_in_flight {cap}")
    with SimProcess() as sim, scratch("rk-bench-scale-") as tmp:
        sim.setup(latency=latency, max_in_flight=cap, ttl=ttl)
        manifest = write_manifest(tmp / "rk", sim.base_url, n, cap=cap, tag="scale")
        ours, report = renderkit_build(manifest, timeout=3600, failures_ok=True)
        ledger = sim.ledger()
        trace = sim.trace()
        totals = report["totals"]
        waits = trace.waits()
        expired = int(ledger["responses"].get("410", 0))
        print(
            f"renderkit build: {ours.seconds:.1f}s wall, {ours.cpu:.1f}s CPU ({ours.cpu / n * 1000:.1f} ms per "
            f"scene), {totals['rendered']} rendered, {totals['failed']} failed; {n / ours.seconds:.1f} renders/s "
            f"against {cap / latency:g}/s the provider allows"
        )
        print(f"  requests per render by route: {by_route(ledger, n)}; responses {ledger['responses']}")
        for reason in failure_reasons(report):
            print(f"  failed {reason}")
        tenths = [trace.first + (trace.last - trace.first) * k / 10 for k in range(1, 10)]
        peak, levels = trace.backlog_at(tenths)
        creates = sorted(trace.created.values())
        gated = GATE + cap  # what a create gate at GATE waiting renders allows: those plus every task in flight
        over = trace.backlog_at(creates)[1]
        ages = trace.oldest_waiting_at(creates)
        print(
            f"  largest download backlog: {peak} results ready at the provider and not yet being downloaded; "
            f"at each tenth of the build: {', '.join(map(str, levels))}"
        )
        print(
            f"  renderkit holds new creates while {GATE} finished renders wait for its download slots and the oldest "
            f"has waited {GRACE:g}s, so a backlog over {gated} (that plus the {cap} in flight) should not "
            f"last; creates sent while it was over: {sum(level > gated for level in over)} of {len(creates)}, "
            f"and while it was over with its oldest result waiting {GRACE:g}s or more: "
            f"{sum(level > gated and age >= GRACE for level, age in zip(over, ages, strict=True))}"
        )
        print(
            f"  a result's age when its download was asked for: median {quantile(waits, 0.5):.2f}s, "
            f"p99 {quantile(waits, 0.99):.2f}s, max {max(waits, default=0):.2f}s (it expires at {ttl:g}s)"
        )
        VERDICTS.judge("results expired before download (410s)", expired, 0, "d")
        VERDICTS.judge("renders failed (10x-latency ttl)", totals["failed"], 0, "d")
        VERDICTS.judge("oldest result at download / ttl", max(waits, default=0) / ttl, 1.0)
        if totals["failed"]:
            # The no-op figures need every scene cached: pay again for the failed ones, with results that last.
            failed = [s["id"] for s in report["scenes"] if s["status"] == "failed"]
            sim.setup(latency=latency, max_in_flight=cap, ttl=3600.0)
            argv = [PYTHON, "-m", "renderkit", "build", str(manifest), "--force", ",".join(failed)]
            redo = checked(run_child(argv, timeout=3600, env=build_env()), "renderkit build --force")
            print(f"  rebuilt the {len(failed)} failed scenes with --force for the no-op below ({redo.seconds:.1f}s)")
        print(f"\nno-op at {n:,} scenes, {settings.scale_repeats} rounds:")
        times = noop_runs(manifest, settings.scale_repeats, with_import=False)
    print(f"renderkit build, memo (the no-op)          {times['memo']}")
    print(f"renderkit build, memo deleted (full path)  {times['full']}")
    results["full_big"], results["full_big_cpu"] = times["full"].best, min(times["full"].cpu)


def linearity(settings: Settings, results: Mapping[str, float]) -> None:
    """The full no-op path at the scale size against the one at 1,000 scenes."""
    n, base = settings.scale_scenes, settings.noop_scenes
    label = f"full no-op path, {n // 1000}k / {base // 1000}k scenes"
    limit = 1.1 * n / base
    if "full_1k" not in results or "full_big" not in results:
        VERDICTS.unmeasured(label, f"<= {limit:.3f}", "needs both the noop and the scale sections")
        return
    print(f"\n== linearity: the full no-op path at {n:,} against {base:,} scenes ==")
    VERDICTS.judge(label, results["full_big"] / results["full_1k"], limit, note="(1.1x linear)")
    print(f"{'  the same in CPU time':44}{results['full_big_cpu'] / results['full_1k_cpu']:>12.3f}")


def main() -> None:
    """Parse ``--quick`` and the sections, then run them in order."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, to check the bench (about ten minutes)")
    sections = ("noop", "download", "cold", "scale")
    parser.add_argument("--only", choices=sections, action="append", help="run only these sections (repeatable)")
    parser.add_argument(
        "--dvc", metavar="PATH", help="the dvc executable to time in the noop section (default: PATH's)"
    )
    args = parser.parse_args()
    dvc = dvc_peer.find_dvc(args.dvc)
    if args.dvc and dvc is None:
        raise SystemExit(f"bench: --dvc {args.dvc}: not an executable file")
    settings = QUICK if args.quick else FULL
    chosen = args.only or list(sections)
    started = time.perf_counter()
    load = os.getloadavg()
    print(
        f"renderkit bench/build.py ({'quick' if args.quick else 'full'} run), {os.cpu_count()} CPUs, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start, {PYTHON}"
    )
    if args.quick:
        print("quick run: sizes too small for the targets (few waves, 2,000 scenes); it checks the bench works")
    results: dict[str, float] = {}
    if "noop" in chosen:
        noop_rebuild(settings, results, dvc)
    if "download" in chosen:
        download(settings)
    if "cold" in chosen:
        cold_builds(settings)
    if "scale" in chosen:
        scale(settings, results)
    if "noop" in chosen or "scale" in chosen:
        linearity(settings, results)
    VERDICTS.summary()
    load = os.getloadavg()
    print(
        f"bench finished in {time.perf_counter() - started:.0f}s; load average {load[0]:.1f} {load[1]:.1f} "
        f"{load[2]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
