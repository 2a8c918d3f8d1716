"""`renderkit plan [MANIFEST] [--json | --format table|markdown] [--force ID] [--max-cost USD] [--detailed-exitcode]`:
what a build would render, why, and what it would cost; sends nothing."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from renderkit.cli.build import _number
from renderkit.cli.common import add_json, add_manifest, find_manifest
from renderkit.cli.output import emit
from renderkit.errors import InputError, RefusedError
from renderkit.manifest.load import load_manifest
from renderkit.plan.plan import Plan, PlanItem, make_plan
from renderkit.plan.policy import refuse_budget

# --detailed-exitcode, as Terraform's: what a CI step can tell apart without parsing anything.
NOTHING, WOULD_RENDER, WOULD_REFUSE = 0, 2, 3

if TYPE_CHECKING:
    from renderkit.plan.state import BuildState


def add_parser(subparsers: Any, help_text: str, parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan", help=help_text, description=help_text, parents=parents
    )
    add_manifest(parser)
    add_json(parser, "the plan")
    parser.add_argument(
        "--format",
        choices=("table", "markdown"),
        default="table",
        help="table: the human table on stderr (default); markdown: a pull-request comment on stdout",
    )
    parser.add_argument(
        "--force", action="append", default=[], metavar="ID", help="plan scene ID as a render even when cached"
    )
    parser.add_argument(
        "--max-cost",
        type=_number(float, 0, "an amount in USD", "2.50"),
        metavar="USD",
        help="say whether a build with this cap would be refused",
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when nothing would render, 2 when something would, 3 when the build would be refused",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Plan the manifest against the lock and cache; human table to stderr, JSON to stdout."""
    path = find_manifest(args.manifest)
    manifest = load_manifest(path)
    for warning in manifest.warnings:
        print(warning, file=sys.stderr)
    if args.json and args.format == "markdown":
        raise InputError("--json and --format markdown both write to stdout; use one of them")
    force = [scene for value in args.force for scene in value.split(",") if scene]
    known = {s.id for s in manifest.scenes}
    unknown = [i for i in force if i not in known]
    if unknown:
        raise InputError(f"--force {unknown[0]}: no scene has that id; use one of the ids in {path}")
    from renderkit.plan.state import open_state  # the cache layer loads only when a plan is made

    state = open_state(manifest, os.environ)
    plan = make_plan(manifest, state, force=force)
    refusal = _refusal(plan, args.max_cost)
    if args.format == "markdown":
        from renderkit.cli.markdown import plan_markdown
        from renderkit.plan.diff import compare
        from renderkit.store.layout import lock_path

        lock = lock_path(manifest.path).name
        sys.stdout.write(plan_markdown(path, plan, compare(plan, state.lock), lock, state.lock is not None))
    elif not args.quiet:
        print(_table(plan, refusal), file=sys.stderr)
    if args.json:
        emit({**_document(plan, state), "refused": refusal})
    if not args.detailed_exitcode:
        return NOTHING
    if refusal is not None:
        return WOULD_REFUSE
    return WOULD_RENDER if plan.to_render else NOTHING


def _refusal(plan: Plan, max_cost: float | None) -> str | None:
    """Why a build of this plan would be refused for its cost, or None."""
    try:
        refuse_budget(plan.to_render, plan.manifest.budget, max_cost)
    except RefusedError as exc:
        return str(exc)
    return None


def _money(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.2f}"


def _waits_on(item: PlanItem) -> str:
    """The scene this one builds on and how (the manifest field), or "-"."""
    scene = item.scene
    return "-" if scene.upstream is None else f"{scene.upstream} ({scene.link})"


def reason(item: PlanItem) -> str:
    """The plan's reason; for a storyboard rendered shot by shot, how many of its shots render; for a scene with
    takes, how many candidates render."""
    out = item.reason
    rendering = sum(not s.cached for s in item.shots)
    if item.shots and item.status != "cached":
        out += f"; {rendering} of {len(item.shots)} shots render, {len(item.shots) - rendering} cached"
    if item.takes:
        rendering = sum(r.status != "cached" for r in item.takes)
        out += f"; {rendering} of {len(item.takes)} takes render, take {item.scene.pick} is picked"
    return out


def _table(plan: Plan, refusal: str | None) -> str:
    rows = [("STATUS", "SCENE", "WAITS ON", "COST", "REASON")]
    rows += [
        (
            i.scene_status,
            i.scene.id,
            _waits_on(i),
            "-" if i.scene_status == "cached" else _money(i.scene_cost_usd),
            reason(i),
        )
        for i in plan.items
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = ["  ".join(r[c].ljust(widths[c]) for c in range(4)) + "  " + r[4] for r in rows]
    # Counts are of renders: each candidate of a scene with takes is one.
    paying = [r for r in plan.renders if r.status in ("render", "blocked")]
    resumed = sum(r.status == "resume" for r in plan.renders)
    cached = len(plan.renders) - len(paying) - resumed
    resuming = f", {resumed} to resume (paid for before, $0)" if resumed else ""
    summary = f"{len(paying)} to render{resuming}, {cached} cached; estimated cost {_money(plan.total_cost_usd)}"
    if plan.unknown_cost:
        summary += f" plus unknown for {', '.join(plan.unknown_cost)}"
    if refusal is not None:
        summary += f"\nbuild would refuse: {refusal}"
    return "\n".join([*lines, summary])


def _document(plan: Plan, state: BuildState) -> dict[str, object]:
    """The `--json` document; `rendered` counts the scenes a build would work on (render, blocked, resume)."""
    return {
        "manifest": str(plan.manifest.path.absolute()),
        "scenes": [_scene(plan, item, state) for item in plan.items],
        "totals": {
            "rendered": len(plan.to_render),
            "cached": len(plan.renders) - len(plan.to_render),
            "failed": 0,
            "cost_usd": float(plan.total_cost_usd),
            "unknown_cost": len(plan.unknown_cost),
        },
    }


def _scene(plan: Plan, item: PlanItem, state: BuildState) -> dict[str, object]:
    """One scene's entry; its cost counts every candidate, and ``takes`` lists them when it has takes."""
    # A cached scene's task id and bytes come from the cache record of its key; a scene to render has none yet.
    record = state.record(item.key) if item.status == "cached" else None
    output = plan.manifest.output_dir / f"{item.scene.id}.mp4"
    return {
        "id": item.scene.id,
        "key": item.key,
        "status": item.status,
        "reason": item.reason,
        "task_id": None if record is None else record.task_id,
        "file": output.relative_to(plan.manifest.root).as_posix(),
        "sha256": None if record is None else record.sha256,
        "bytes": None if record is None else record.bytes,
        "cost_usd": item.scene_cost_usd,
        "depends_on": list(item.depends_on),
        "shots": [
            {"key": s.key, "status": "cached" if s.cached else "render", "cost_usd": s.cost_usd} for s in item.shots
        ]
        or None,
        "takes": [_take(item, take, state) for take in item.takes] or None,
    }


def _take(item: PlanItem, take: PlanItem, state: BuildState) -> dict[str, object]:
    record = state.record(take.key) if take.status == "cached" else None
    return {
        "id": take.scene.id,
        "take": take.scene.take,
        "picked": take is item,
        "key": take.key,
        "status": take.status,
        "reason": take.reason,
        "task_id": None if record is None else record.task_id,
        "cost_usd": take.cost_usd,
    }
