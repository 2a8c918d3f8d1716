"""`renderkit plan --format markdown`: the plan as a pull-request comment, in the manner of infrastructure cost
comments: what will render and why, what each scene costs, the total, and the change against the lock.

The text depends on the manifest, the lock and the cache alone (no time, no absolute path), so the same inputs
give the same bytes; unchanged cached scenes are counted, not listed, to keep a large manifest's comment short.
"""

from __future__ import annotations

from renderkit.cli.plan import reason
from renderkit.plan.diff import CHANGES, Diff
from renderkit.plan.plan import Plan


def plan_markdown(name: str, plan: Plan, diff: Diff, lock_name: str, has_lock: bool) -> str:
    """The comment for ``plan`` of manifest ``name``, compared with its lock by ``diff``."""
    paying = sum(r.status in ("render", "blocked") for r in plan.renders)
    cached = sum(r.status == "cached" for r in plan.renders)
    lines = [
        f"### renderkit plan: `{name}`",
        "",
        f"**{paying} to render, {cached} cached: estimated cost {_total(plan.total_cost_usd, plan.unknown_cost)}**"
        + _budget(plan),
        "",
        f"Against `{lock_name}`{'' if has_lock else ' (none yet)'}: "
        + ", ".join(f"{diff.count(c)} {c}" for c in CHANGES)
        + f"; price of the whole video set {_money(diff.before_usd)} → {_money(diff.after_usd)}"
        + f" ({_delta(diff.delta_usd)})",
        "",
        "| scene | change | plan | why | cost |",
        "| --- | --- | --- | --- | ---: |",
    ]
    quiet = 0
    for item in plan.items:
        change = diff.changes[item.scene.id]
        if change == "unchanged" and item.scene_status == "cached":
            quiet += 1
            continue
        cost = "-" if item.scene_status == "cached" else _money(item.scene_cost_usd)
        lines.append(_row(f"`{item.scene.id}`", change, item.scene_status, reason(item), cost))
    for entry in diff.removed:
        lines.append(_row(f"`{entry.id}`", "removed", "-", f"no longer in the manifest; {entry.file} is left", "-"))
    lines.append(_row("**total**", "", "", "", f"**{_total(plan.total_cost_usd, plan.unknown_cost)}**"))
    if quiet:
        lines += ["", f"{quiet} unchanged scene{'s' if quiet != 1 else ''} cached, not listed."]
    return "\n".join(lines) + "\n"


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _money(usd: float | None) -> str:
    return "?" if usd is None else f"${usd:.2f}"


def _delta(usd: float | None) -> str:
    if usd is None:
        return "unknown"
    return f"{'+' if usd >= 0 else '-'}${abs(usd):.2f}"


def _total(usd: float, unknown: tuple[str, ...]) -> str:
    return f"${usd:.2f}" + (f" + ? ({', '.join(unknown)})" if unknown else "")


def _budget(plan: Plan) -> str:
    budget = plan.manifest.budget
    if budget is None:
        return ""
    if plan.unknown_cost:
        return f" (budget ${budget:.2f}; a cost is unknown, so `renderkit build` would refuse)"
    if plan.total_cost_usd > budget + 1e-9:
        return f" (over the budget of ${budget:.2f}, so `renderkit build` would refuse)"
    return f" (budget ${budget:.2f})"
