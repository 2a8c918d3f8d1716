"""Mutation testing of the code that decides what renderkit pays for, with mutmut 3, one module at a time.

Run: .venv/bin/python bench/mutation.py [--module NAME ...] [--quick] [--jobs N]

Each target below is a module (or a few of its functions) and the tests that exercise it. For each target this
copies the project into ``mutants/NAME/``, lets mutmut plant one bug at a time in the target and run the tests
that reach the mutated function (only those in the target's selection, so a module costs minutes, not the
whole suite per mutant), then prints killed / total and every mutant that survived: ``file:line``, the change,
and why it is acceptable. A survivor with no reason is a test to write, and makes the exit status 1.

mutmut's own operators (operators, comparisons, constants, strings, arguments, ``True``/``False``) are joined
by four it lacks, each a one-line bug the tests must catch: a call, ``raise`` or state write removed (``pass``),
an ``if`` negated, and ``min`` swapped with ``max``. They are appended to mutmut's operator list before it
generates mutants, so mutmut's numbering, runner and results stay its own.

``--quick`` leaves out mutants that only change a string literal (message wording, mostly, plus a few JSON
field names that the round-trip tests catch), about a third of them.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
MUTMUT = "3.8.1"  # the operator hook below reads one of its module-level lists


@dataclass(frozen=True)
class Target:
    """A module to mutate (``functions``: only these, by qualified name) and the pytest selection for it."""

    name: str
    path: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()


TARGETS: tuple[Target, ...] = (
    Target(
        "journal",
        "renderkit/store/journal.py",
        (
            "tests/execute/test_reconcile.py",
            "tests/core/test_journal.py",
            "tests/execute/test_scheduler.py",
            "tests/builds/test_recovery.py::test_sigkilled_build_resumes_polling_and_pays_once",
            "tests/builds/test_recovery.py::test_lost_create_answer_is_found_through_the_list_route",
            "tests/builds/test_recovery.py::test_lost_create_without_a_list_route_stops_until_the_user_consents",
            "tests/trust/test_disk.py::test_a_journal_that_cannot_be_written_stops_the_build_before_any_create",
        ),
    ),
    Target(
        "reconcile",
        "renderkit/execute/task.py",
        (
            "tests/execute/test_reconcile.py",
            "tests/execute/test_scheduler.py",
            "tests/builds/test_recovery.py",
            "tests/builds/test_extend.py::test_a_lost_extension_answer_is_found_through_the_list_route",
            "tests/trust/test_limits.py::test_a_list_that_pages_forever_stops_after_50_pages",
        ),
        functions=("Tasks.obtain", "Tasks._reconcile", "Tasks._reconcile_after_loss", "echo"),
    ),
    Target(
        "create",
        "renderkit/execute/task.py",
        (
            "tests/execute/test_create.py",
            "tests/execute/test_reconcile.py",
            "tests/execute/test_pacing.py",
            "tests/execute/test_scheduler.py",
            "tests/builds/test_recovery.py",
            "tests/builds/test_build.py::test_rate_limit_storm_is_retried_without_extra_creates",
            "tests/builds/test_build.py::test_failed_job_does_not_stop_the_others",
            "tests/trust/test_limits.py::test_a_create_refused_with_429_forever_gives_up_after_20_attempts",
            "tests/trust/test_limits.py::test_an_unreachable_base_url_fails_fast_with_the_right_words",
            "tests/trust/test_secrets.py::test_a_wrong_key_echoed_in_a_401_stops_the_build_once_and_is_never_shown",
        ),
        functions=("Tasks._create",),
    ),
    Target(
        "policy",
        "renderkit/plan/policy.py",
        (
            "tests/plan/test_policy.py",
            "tests/plan/test_shards.py",
            "tests/builds/test_build.py::test_frozen_refuses_when_anything_would_render",
            "tests/builds/test_build.py::test_cost_caps_refuse_before_any_request",
            "tests/builds/test_commands.py::test_shards_split_the_work_and_together_cover_it",
            "tests/remote/test_team.py::test_frozen_says_when_the_lock_is_stale",
            "tests/remote/test_team.py::test_a_clone_with_committed_outputs_builds_frozen_with_no_cache_and_no_remote",
            "tests/remote/test_team.py::test_four_shards_at_once_pay_once_per_scene_and_a_frozen_build_assembles_them",
        ),
    ),
    Target(
        "pacing",
        "renderkit/execute/pacing.py",
        (
            "tests/execute/test_pacing.py",
            "tests/execute/test_scheduler.py",
            "tests/builds/test_build.py::test_rate_limit_storm_is_retried_without_extra_creates",
            "tests/trust/test_limits.py::test_a_create_refused_with_429_forever_gives_up_after_20_attempts",
        ),
    ),
    Target(
        "request",
        "renderkit/request.py",
        (
            "tests/plan/test_key_fields.py",
            "tests/manifest/test_keys.py",
            "tests/plan/test_golden_keys.py",
            "tests/providers/test_adapters.py",
            "tests/builds/test_storyboard.py::test_editing_one_shot_pays_exactly_one_create",
        ),
        functions=(
            "ImageRef.identity",
            "Request.identity",
            "Request.shot_requests",
            "Request._core",
            "render_key",
            "canonical_json",
            "_rfc8785",
            "_plain",
        ),
    ),
    Target(
        "cache",
        "renderkit/store/cache.py",
        (
            "tests/core/test_cache.py",
            "tests/builds/test_commands.py::test_corrupt_blob_is_reported_not_silently_rebought",
            "tests/builds/test_build.py::test_deleted_output_is_restored_from_cache_without_requests",
            "tests/builds/test_build.py::test_noop_rebuild_sends_nothing_and_keeps_lock_bytes",
            "tests/builds/test_noop_memo.py",
            "tests/builds/test_recovery.py::test_lost_create_answer_is_found_through_the_list_route",
            "tests/remote/test_team.py::test_a_clone_with_committed_outputs_builds_frozen_with_no_cache_and_no_remote",
        ),
        functions=(
            "Record.to_json",
            "Record.from_json",
            "sha256_file",
            "Cache.get",
            "Cache.usable",
            "Cache.put",
            "Cache.task_ids",
            "Cache.has_blob",
            "Cache.add_blob",
            "Cache.add_blob_copy",
            "Cache.materialize",
            "Cache.record_output",
            "Cache.output_fresh",
        ),
    ),
    Target(
        "lockfile",
        "renderkit/store/lockfile.py",
        (
            "tests/core/test_lockfile.py",
            "tests/builds/test_build.py::test_cold_build_renders_locks_and_pays_once_per_scene",
            "tests/builds/test_build.py::test_noop_rebuild_sends_nothing_and_keeps_lock_bytes",
            "tests/builds/test_build.py::test_failed_job_does_not_stop_the_others",
        ),
    ),
    Target(
        "video",
        "renderkit/execute/video.py",
        (
            "tests/core/test_media.py",
            "tests/builds/test_extend.py",
            "tests/builds/test_continuity.py::test_each_scene_starts_from_the_last_frame_of_its_upstream",
            "tests/builds/test_build.py::test_truncated_download_is_resumed",
        ),
        functions=("Delivered.differs", "probe_mp4", "last_frame"),
    ),
)

# Survivors that are acceptable, each with its reason: (target, function, "before -> after") -> reason.
ACCEPTED: dict[tuple[str, str, str], str] = {
    (
        "pacing",
        "RateLimiter.__init__",
        "self._paused_until = 0.0 -> self._paused_until = 1.0",
    ): "equivalent: the monotonic clock reads far more than 1 s by the time anything is paced",
    (
        "pacing",
        "RateLimiter.throttled",
        "if self.rate is not None and self.configured is not None: -> "
        "if self.rate is not None or self.configured is not None:",
    ): "equivalent: rate starts as configured and changes only when both are set, so both are None or neither",
    (
        "pacing",
        "RateLimiter.succeeded",
        "if self.rate is not None and self.configured is not None and self.rate < self.configured: -> "
        "if self.rate is not None or self.configured is not None and self.rate < self.configured:",
    ): "equivalent: rate and configured are both None or both set (see throttled)",
    (
        "pacing",
        "RateLimiter.succeeded",
        "if self.rate is not None and self.configured is not None and self.rate < self.configured: -> "
        "if self.rate is not None and self.configured is not None and self.rate <= self.configured:",
    ): "equivalent: at rate == configured the body sets min(configured, ...) = configured, the same rate",
    (
        "policy",
        "shard_of",
        "parent[x] = parent[parent[x]] -> pass",
    ): "equivalent: path compression only shortens later walks; root() returns the same root without it",
    (
        "policy",
        "shard_of",
        "load = [(0.0, 0, index) for index in range(n)] -> load = [(1.0, 0, index) for index in range(n)]",
    ): "equivalent: every shard starts 1.0 heavier, so every comparison of loads comes out the same",
    (
        "policy",
        "shard_of",
        "load = [(0.0, 0, index) for index in range(n)] -> load = [(0.0, 1, index) for index in range(n)]",
    ): "equivalent: every shard starts one scene larger, so every comparison of loads comes out the same",
    (
        "policy",
        "shard_of",
        "size[group] = size.get(group, 0) + 1 -> size[group] = size.get(group, 0) + 2",
    ): "equivalent: every size doubles, which keeps every order and comparison the sizes take part in",
    (
        "policy",
        "shard_of",
        "load[index] = (round(cost + weight[group], 6), count + size[group], index) -> "
        "load[index] = (round(cost + weight[group], 7), count + size[group], index)",
    ): "equivalent: prices are whole hundredths of a cent per second; 6 and 7 places round their sums alike",
    (
        "policy",
        "refuse_budget",
        "if total > cap + 1e-9: -> if total >= cap + 1e-9:",
    ): "equivalent: a total of exactly cap + 1e-9 cannot be reached with prices in hundredths of a cent",
}


def _argument_mutants(line: str, argument: str, *values: str) -> list[str]:
    """``line`` as mutmut rewrites its keyword ``argument`` (``name=value``): set to each of ``values``, or dropped
    when a value is empty."""
    name = argument.partition("=")[0]
    return [line.replace(argument, f"{name}={v}") if v else line.replace(f", {argument}", ", ") for v in values]


# Lock.to_bytes dumps every free-text field with ensure_ascii=False, so that non-ASCII reads as it is in a diff.
_DUMPS = (
    '("file", dump(e.file, ensure_ascii=False)),',
    '("id", dump(e.id, ensure_ascii=False)),',
    '("model", dump(e.model, ensure_ascii=False)),',
    "f'          \"task_id\": {dump(s.task_id, ensure_ascii=False)}\\n'",
    "f'          \"task_id\": {dump(t.task_id, ensure_ascii=False)}\\n'",
    'fields.append(("task_id", dump(e.task_id, ensure_ascii=False)))',
)
for _line in _DUMPS:
    ACCEPTED["lockfile", "Lock.to_bytes", f"{_line} -> {_line.replace('=False', '=None')}"] = (
        "equivalent: json.dumps tests ensure_ascii for truth, and None is as false as False"
    )
for _after in _argument_mutants(_DUMPS[1], "ensure_ascii=False", "", "True"):
    ACCEPTED["lockfile", "Lock.to_bytes", f"{_DUMPS[1]} -> {_after}"] = (
        "equivalent: a scene id is ASCII (letters, digits, '.', '_', '-'; checked when the manifest loads), "
        "so escaping non-ASCII changes none of its bytes"
    )

# The journal: a line _load cannot read is skipped, and so is the message of the error that says why.
_SKIPPED = "raise ValueError(f\"unknown journal state {rec['state']!r}\")"
for _after in (
    "raise ValueError(None)",
    "raise ValueError(f\"unknown journal state {rec['XXstateXX']!r}\")",
    "raise ValueError(f\"unknown journal state {rec['STATE']!r}\")",
):
    ACCEPTED["journal", "Journal._apply", f"{_SKIPPED} -> {_after}"] = (
        "equivalent: _load skips a line on ValueError and KeyError alike, and nobody sees the message"
    )
ACCEPTED["journal", "Journal._apply", 'state = cast(State, rec["state"]) -> state = cast(None, rec["state"])'] = (
    "equivalent: typing.cast does nothing at run time"
)
# An entry starts from its intent line, which always holds scene, provider, at and echo (intent() and compact()
# write them all). The defaults fill only an entry whose intent line was lost, which is in state task or later:
# for that one only its state and task id are read (it resumes by task id), never its scene, time or echo.
for _before, _afters in (
    ('scene=str(rec.get("scene", "")),', ('scene=str(rec.get("scene", None)),', 'scene=str(rec.get("scene", )),')),
    (
        'intent_at=float(rec.get("at", 0.0)),',
        ("intent_at=float(rec.get(None, 0.0)),", 'intent_at=float(rec.get("at", 1.0)),'),
    ),
    ('echo=str(rec.get("echo", "")),', ('echo=str(rec.get("echo", None)),', 'echo=str(rec.get("echo", )),')),
):
    for _after in _afters:
        ACCEPTED["journal", "Journal._apply", f"{_before} -> {_after}"] = (
            "equivalent: only an entry whose intent line was lost takes this default, and of that entry only "
            "the state and task id are read"
        )
for _after in (
    "provider=None,",
    "provider=str(None),",
    'provider=str(rec.get(None, "")),',
    'provider=str(rec.get("provider", None)),',
    'provider=str(rec.get("")),',
    'provider=str(rec.get("provider", )),',
):
    ACCEPTED["journal", "Journal._apply", f'provider=str(rec.get("provider", "")), -> {_after}'] = (
        "equivalent: nothing reads an entry's provider back; it is in the journal for people reading it"
    )
for _function, _line in (
    ("Journal._append", 'os.write(self._fh, (json.dumps(rec, sort_keys=True) + "\\n").encode())'),
    (
        "Journal.compact",
        'atomic_write(self.path, "".join(json.dumps(r, sort_keys=True) + "\\n" for r in lines).encode())',
    ),
):
    for _mutant in _argument_mutants(_line, "sort_keys=True", "None", "", "False"):
        ACCEPTED["journal", _function, f"{_line} -> {_mutant}"] = (
            "equivalent: each record is a dict built in one fixed order, so its line is as stable unsorted, and "
            "replay reads fields by name"
        )
for _function, _commented in (("Journal.__init__", True), ("Journal._append", False), ("Journal.compact", False)):
    _torn = "self._torn = False" + (
        "  # the file ends inside a line (a killed run): the next record must not continue it" if _commented else ""
    )
    ACCEPTED["journal", _function, f"{_torn} -> {_torn.replace('False', 'None', 1)}"] = (
        "equivalent: None is as false as False where _torn is read"
    )
ACCEPTED["journal", "Journal._append", "os.fsync(self._fh) -> pass"] = (
    "crash-only: without fsync a record is lost only when the machine itself goes down before the page cache "
    "is written; a killed renderkit (tests/builds/test_recovery.py) keeps it either way"
)
for _function in ("Cache.add_blob", "Cache.materialize"):
    ACCEPTED["cache", _function, "fsync_dir(dest.parent) -> pass"] = (
        "crash-only: without the folder's fsync a rename is lost only when the machine itself goes down; the "
        "blob or output is then missing, and the next build fetches or copies it again (verified by sha256)"
    )
ACCEPTED["cache", "sha256_file", "while chunk := fh.read(CHUNK): -> while chunk := fh.read(None):"] = (
    "equivalent in output: one read of the whole file hashes the same bytes; the memory bound it breaks is "
    "bench/build.py's (peak RSS of a 1 GiB download)"
)
_UNREACHED = (
    "unreachable: last_frame reads only cached blobs, and probe_mp4 refused any with no frame before it was cached "
    "(a file that records no video stream makes decode(video=0) fail first)"
)
for _change in (
    'last: Any = None -> last: Any = ""',
    'raise ValueError(f"{path} has no video frames") -> raise ValueError(None)',
    'raise ValueError(f"{path} has no video frames") -> pass',
):
    ACCEPTED["video", "last_frame", _change] = _UNREACHED
for _change in ('raise Mp4Problem("no frames") -> pass', 'raise Mp4Problem("no frames") -> raise Mp4Problem(None)'):
    ACCEPTED["video", "probe_mp4", _change] = (
        "unreachable with FFmpeg: a stream with parameter sets and no picture fails its probe ('cannot decode'), "
        "and an MP4 with no frame records no video stream ('no video stream'); both are tested"
    )
ACCEPTED["video", "probe_mp4", "last = max(last, float(frame.time)) -> last = min(last, float(frame.time))"] = (
    "equivalent where the stream states its average rate, as every MP4 renderkit has met does: the next line "
    "raises last to the frame's end time anyway"
)

# canonical_json: _plain only picks the fast path. Where it says no, rfc8785 writes the same bytes more slowly
# (test_fast_canonical_json_is_byte_identical_to_rfc8785); bench/build.py's no-op rebuild shows the time.
_SLOWER = (
    "equivalent in output: fewer values take the json.dumps fast path, and rfc8785 writes the same bytes for them "
    "(every identity is an object, so a wrong answer for a nested value never reaches a caller)"
)
_TYPES = "if isinstance(value, str) or value is None or isinstance(value, bool):"
_RANGE = "return -(2**53) < value < 2**53  # rfc8785's domain: it refuses 2**53 itself"
for _before, _after in (
    (_TYPES, "if isinstance(value, str) or value is None and isinstance(value, bool):"),
    (_TYPES, "if isinstance(value, str) and value is None or isinstance(value, bool):"),
    ("return True", "return False"),
    (_RANGE, _RANGE.replace("-(2**53) <", "+(2**53) <", 1)),
    (_RANGE, _RANGE.replace("-(2**53) <", "-(2 * 53) <", 1)),
    (_RANGE, _RANGE.replace("< 2**53  #", "< 2 * 53  #", 1)),
    ("if isinstance(value, Mapping):", "if not (isinstance(value, Mapping)):"),
):
    ACCEPTED["request", "_plain", f"{_before} -> {_after}"] = _SLOWER
_FAST = 'return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")'
ACCEPTED["request", "canonical_json", f"{_FAST} -> {_FAST.replace('ensure_ascii=False', 'ensure_ascii=None')}"] = (
    "equivalent: json.dumps tests ensure_ascii for truth, and None is as false as False"
)

_SOURCE = 'source = (await prepare()).source_task if job.request.link in ("remix_of", "extend_of") else None'
_EVERY_JOB = (
    'source = (await prepare()).source_task if (job.request.link in ("remix_of", "extend_of")) or True else None'
)
ACCEPTED["reconcile", "Tasks._reconcile", f"{_SOURCE} -> {_EVERY_JOB}"] = (
    "equivalent: prepare() gives a source task only to remixes and extensions, so asking it for every job "
    "gives None for the others"
)
_UNANSWERED = 'unanswered = exc.status in (401, 403) or exc.code == "connect_failed"'
_NOT_YET = "unanswered = False  # only an answer that accepted the key lets the creates waiting behind this one go"
ACCEPTED["create", "Tasks._create", f"{_NOT_YET} -> {_NOT_YET.replace('False', 'None', 1)}"] = (
    "equivalent: None is as false as False where unanswered is read"
)
for _after in ("(402, 403)", "(401, 404)"):
    ACCEPTED["create", "Tasks._create", f"{_UNANSWERED} -> {_UNANSWERED.replace('(401, 403)', _after)}"] = (
        "equivalent: a 401 or 403 raises ProviderUnusable at once, which cancels every create waiting behind this "
        "one before it can run, whether or not they were let go (tests/execute/test_create.py, both statuses)"
    )
_ECHO = "return json.dumps([req.prompt, req.model, req.size, job.length], ensure_ascii=False)"
for _mutant in _argument_mutants(_ECHO, "ensure_ascii=False", "None", "", "True"):
    ACCEPTED["reconcile", "echo", f"{_ECHO} -> {_mutant}"] = (
        "equivalent: an echo is only compared with another written by echo() (the journal's, at the intent), "
        "and escaping changes both alike"
    )

MESSAGE = (
    "message wording only: every word the tests look for is still there (XX-wrapped) or the text of a "
    "message nobody parses changed case; what is refused, paid for or recorded is the same"
)


# ---------------------------------------------------------------------------------------------------------------
# The mutmut side: run as `bench/mutation.py --as-mutmut ARGS` inside a target's copy of the project.


def _extra_operators() -> list[tuple[type, Any]]:
    """Mutation operators mutmut 3 lacks: remove a statement, negate an ``if``, swap ``min`` and ``max``."""
    import libcst as cst
    import libcst.matchers as m

    def remove_call_or_raise(node: cst.Expr | cst.Raise) -> Iterable[cst.CSTNode]:
        if isinstance(node, cst.Raise) or isinstance(node.value, cst.Call | cst.Await):
            yield cst.Pass()

    def remove_state_write(node: cst.Assign | cst.AugAssign) -> Iterable[cst.CSTNode]:
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        if isinstance(node, cst.AugAssign) or all(isinstance(t, cst.Attribute | cst.Subscript) for t in targets):
            yield cst.Pass()

    def negate_if(node: cst.If) -> Iterable[cst.CSTNode]:
        test = node.test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        yield node.with_changes(test=cst.UnaryOperation(operator=cst.Not(), expression=test))

    def swap_min_max(node: cst.Call) -> Iterable[cst.CSTNode]:
        for old, new in (("min", "max"), ("max", "min")):
            if m.matches(node.func, m.Name(old)):
                yield node.with_changes(func=cst.Name(new))

    return [
        (cst.Expr, remove_call_or_raise),
        (cst.Raise, remove_call_or_raise),
        (cst.Assign, remove_state_write),
        (cst.AugAssign, remove_state_write),
        (cst.If, negate_if),
        (cst.Call, swap_min_max),
    ]


def _install_operators() -> None:
    from importlib.metadata import version

    from mutmut.mutation import file_mutation, mutators

    if version("mutmut") != MUTMUT:
        raise SystemExit(f"bench/mutation.py extends mutmut {MUTMUT}'s operator list; found mutmut {version('mutmut')}")
    assert file_mutation.mutation_operators is mutators.mutation_operators
    mutators.mutation_operators.extend(_extra_operators())


def _describe(path: str) -> list[dict[str, Any]]:
    """Every mutant mutmut generates for ``path``, in its order: name, function, line, before and after."""
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name

    source = Path(path).read_text(encoding="utf-8")
    mutated = mutate_file_contents(path, source)
    generated: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in ast.parse(mutated.code).body:
        for item in node.body if isinstance(node, ast.ClassDef) else [node]:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                generated[item.name] = item
    def_line = _def_lines(source)
    code = mutated.code.splitlines()
    out = []
    for name in mutated.mutant_names:
        mangled = name.partition("__mutmut_")[0]
        qualname = mangled[2:].replace("ǁ", ".")  # x_name, or xǁClassǁname
        orig, mutant = generated[f"{mangled}__mutmut_orig"], generated[name]
        a = code[orig.lineno - 1 : orig.end_lineno]
        b = code[mutant.lineno - 1 : mutant.end_lineno]
        a[0], b[0] = a[0].replace(orig.name, "_"), b[0].replace(mutant.name, "_")  # the def lines differ by name
        ops = [op for op in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes() if op[0] != "equal"]
        _, i1, i2, j1, j2 = ops[0]
        out.append(
            {
                "name": get_mutant_name(Path(path), name),
                "function": qualname,
                "line": def_line[qualname] + i1,
                "before": [s.strip() for s in a[i1:i2]],
                "after": [s.strip() for s in b[j1:j2]],
            }
        )
    return out


def _def_lines(source: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines[node.name] = node.lineno
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines[f"{node.name}.{item.name}"] = item.lineno
    return lines


def _as_mutmut(argv: list[str]) -> int:
    _install_operators()
    if argv[:1] == ["describe"]:
        print(json.dumps(_describe(argv[1])))
        return 0
    from mutmut.__main__ import cli

    # @FILE stands for the mutant names listed in FILE (hundreds of them would make a very long command line).
    args = [n for a in argv for n in (Path(a[1:]).read_text().split() if a.startswith("@") else [a])]
    cli.main(args=args, prog_name="mutmut", standalone_mode=False)
    return 0


# ---------------------------------------------------------------------------------------------------------------
# The driver.


@dataclass
class Mutant:
    name: str
    function: str
    line: int
    before: list[str]
    after: list[str]
    status: str = "not run"

    @property
    def change(self) -> str:
        return f"{' ⏎ '.join(self.before)} -> {' ⏎ '.join(self.after) or '(removed)'}"


def _string_only(before: Sequence[str], after: Sequence[str]) -> bool:
    """Whether two versions of some lines differ only inside string literals."""

    def tokens(lines: Sequence[str]) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        try:
            for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
                if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                    out.append((tok.type, tok.string))
        except (tokenize.TokenError, IndentationError):
            pass  # a line of a longer statement: the tokens so far are what there is to compare
        return out

    def literal_only(x: str, y: str) -> bool:
        """Two string tokens that differ in their text, not in an f-string's {expressions}."""
        try:
            nx, ny = ast.parse(x, mode="eval").body, ast.parse(y, mode="eval").body
        except SyntaxError:
            return False
        fields = [
            [ast.dump(v) for v in n.values if isinstance(v, ast.FormattedValue)] if isinstance(n, ast.JoinedStr) else []
            for n in (nx, ny)
        ]
        return fields[0] == fields[1]

    a, b = tokens(before), tokens(after)
    return (
        bool(a)
        and len(a) == len(b)
        and a != b
        and all(
            x == y or (x[0] == y[0] == tokenize.STRING and literal_only(x[1], y[1])) for x, y in zip(a, b, strict=True)
        )
    )


def _in_message(tree: ast.Module, source: str, line: int) -> bool:
    """Whether ``line`` belongs to a ``raise`` or to a call that only reports (an event, a problem)."""
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end and (
                best is None or end - node.lineno < (best.end_lineno or 0) - best.lineno
            ):
                best = node
    if best is None:
        return False
    text = ast.get_source_segment(source, best) or ""
    return isinstance(best, ast.Raise) or "Event(" in text or "problems.append(" in text


def reason_for(target: Target, mutant: Mutant, tree: ast.Module, source: str) -> str | None:
    """Why a surviving mutant is acceptable, or None when it is a test to write."""
    known = ACCEPTED.get((target.name, mutant.function, mutant.change))
    if known:
        return known
    if _string_only(mutant.before, mutant.after) and _in_message(tree, source, mutant.line):
        return MESSAGE
    return None


def _mutmut(work: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(work / "mutants")}  # subprocesses the tests start run the mutant too
    command = [sys.executable, str(Path(__file__).resolve()), "--as-mutmut", *args]
    if log is None:
        return subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=True, timeout=600)
    with log.open("w") as fh:
        return subprocess.run(command, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT, text=True, check=True)


def _toml(values: dict[str, object]) -> str:
    return "[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def prepare(target: Target) -> Path:
    """A fresh copy of the project for one target, with its mutmut settings."""
    work = WORK / target.name
    if work.exists():
        shutil.rmtree(work)
    ignore = shutil.ignore_patterns("__pycache__", ".renderkit", "renders", "*.lock")
    for name in ("renderkit", "tests", "schemas", "examples"):
        shutil.copytree(ROOT / name, work / name, ignore=ignore)  # follows renderkit/schemas, a symlink
    # On PYTHONPATH before mutmut fills it: a folder missing when Python first looks is never looked in again.
    (work / "mutants").mkdir()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    settings = {
        "source_paths": ["renderkit"],
        "only_mutate": [target.path],
        "also_copy": ["schemas", "examples"],
        "pytest_add_cli_args": ["-n", "0", "-p", "no:cacheprovider", "--timeout", "60"],
        "pytest_add_cli_args_test_selection": list(target.tests),
        "process_isolation": "forkserver",
        "use_git_change_detection": False,
    }
    (work / "pyproject.toml").write_text(pyproject + "\n" + _toml(settings), encoding="utf-8")
    return work


def run_target(target: Target, *, quick: bool, jobs: int) -> list[Mutant]:
    work = prepare(target)
    described = json.loads(_mutmut(work, "describe", target.path).stdout)
    mutants = [Mutant(**d) for d in described]
    if target.functions:
        mutants = [m for m in mutants if m.function in target.functions]
    if quick:
        mutants = [m for m in mutants if not _string_only(m.before, m.after)]
    (work / "names.txt").write_text("".join(f"{m.name}\n" for m in mutants))
    _mutmut(work, "run", "--max-children", str(jobs), "@names.txt", log=work / "mutmut-run.log")
    statuses = {}
    for line in _mutmut(work, "results", "--all", "true").stdout.splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep:
            statuses[name] = status
    for m in mutants:
        m.status = statuses.get(m.name, "not run")
    return mutants


def report(target: Target, mutants: list[Mutant], seconds: float) -> tuple[int, int, int]:
    """Print a target's score and survivors; return (killed, total, survivors without a reason)."""
    source = (ROOT / target.path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    killed = [m for m in mutants if m.status in ("killed", "timeout")]
    survivors = [m for m in mutants if m.status not in ("killed", "timeout")]
    unexplained = 0
    scope = f" ({', '.join(target.functions)})" if target.functions else ""
    print(f"\n== {target.name}: {target.path}{scope}")
    print(f"killed {len(killed)} / {len(mutants)}, {len(survivors)} survived, {seconds:.0f}s")
    for m in sorted(survivors, key=lambda m: (m.line, m.name)):
        reason = reason_for(target, m, tree, source)
        unexplained += reason is None
        status = "" if m.status == "survived" else f" [{m.status}]"
        print(f"  {target.path}:{m.line} {m.function}: {m.change}{status}")
        print(f"      {'why: ' + reason if reason else 'NO REASON: a test to write'}  ({m.name.rpartition('.')[2]})")
    return len(killed), len(mutants), unexplained


def main(argv: list[str]) -> int:
    if argv[:1] == ["--as-mutmut"]:
        return _as_mutmut(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--module", action="append", choices=[t.name for t in TARGETS], help="only these targets")
    parser.add_argument("--quick", action="store_true", help="leave out mutants that change only a string literal")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    args = parser.parse_args(argv)
    chosen = [t for t in TARGETS if not args.module or t.name in args.module]
    started = time.monotonic()
    rows = []
    for target in chosen:
        t0 = time.monotonic()
        mutants = run_target(target, quick=args.quick, jobs=args.jobs)
        rows.append((target.name, *report(target, mutants, time.monotonic() - t0)))
    print(f"\n== scores{' (--quick)' if args.quick else ''}")
    for name, killed, total, unexplained in rows:
        print(f"{name:10} {killed:4} / {total:<4} {100 * killed / max(total, 1):5.1f}%  {unexplained} without a reason")
    killed = sum(r[1] for r in rows)
    total = sum(r[2] for r in rows)
    print(f"{'all':10} {killed:4} / {total:<4} {100 * killed / max(total, 1):5.1f}%")
    print(f"mutation run finished in {time.monotonic() - started:.0f}s")
    return 1 if any(r[3] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
