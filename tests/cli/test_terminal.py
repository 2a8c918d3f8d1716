"""The live display as a user sees it in a real terminal (a pty): it fits the width, shows the plan and an ETA, and
Ctrl-C ends it with one line and exit 130."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import manifest_text
from tests.cli.helpers import KEY
from tests.fixtures.project import Project

SCENES = [(f"harbor-scene-with-a-long-name-{i}", f"a harbor at dawn, take {i}") for i in range(6)]
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _spawn(cwd: Path, cols: int) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERKIT_") and k not in {"COLUMNS", "LINES"}}
    env.update({"SIM_API_KEY": KEY, "TERM": "xterm-256color"})
    return pexpect.spawn(
        sys.executable,
        ["-m", "renderkit", "build"],
        cwd=str(cwd),
        env=env,
        dimensions=(24, cols),
        encoding="utf-8",
        timeout=60,
    )


def _screen_lines(raw: str) -> list[str]:
    return [line for line in re.split(r"[\r\n]+", CSI.sub("", raw)) if line.strip()]


@pytest.mark.parametrize("cols", [80, 160])
def test_the_live_display_fits_the_terminal_and_shows_plan_and_eta(
    make_simulator: Callable[..., Simulator], project: Project, cols: int
) -> None:
    sim = make_simulator(latency=1.5)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    child = _spawn(project.root, cols)
    try:
        child.expect(r"ETA \d+:\d\d")
        shown = child.before + child.after
        child.expect(pexpect.EOF)
        shown += child.before
    finally:
        child.close()
    lines = _screen_lines(shown)
    assert child.exitstatus == 0, shown
    assert any(re.fullmatch(r"renderkit build: 6 scene\(s\) to render, \$\d+\.\d\d planned", ln) for ln in lines)
    assert "note: the simulator charges nothing; its prices are notional" in lines
    assert any(re.search(r"^total .* 0/6 done · \$0\.00 of \$\d+\.\d\d · \d+:\d\d · ETA \d+:\d\d$", ln) for ln in lines)
    live = [line for line in lines if not line.startswith("renderkit: ")]  # the summary is plain text; it may wrap
    assert max(len(line) for line in live) <= cols, [line for line in live if len(line) > cols]
    assert "Traceback" not in shown


def test_ctrl_c_ends_the_live_display_with_one_line_and_exit_130(
    make_simulator: Callable[..., Simulator], project: Project
) -> None:
    sim = make_simulator(latency=30)
    project.gen({"renderkit.yaml": manifest_text(sim, SCENES)})
    child = _spawn(project.root, 80)
    try:
        child.expect(r"rendering")
        child.sendintr()
        child.expect(pexpect.EOF)
        rest = child.before
    finally:
        child.close()
    assert child.exitstatus == 130, (child.exitstatus, child.signalstatus)
    assert CSI.sub("", rest).count("renderkit: interrupted; rerun the same command to resume") == 1
    assert "Traceback" not in rest
