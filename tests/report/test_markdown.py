"""`renderkit plan --format markdown`: the pull-request comment, byte for byte, and its change against the lock.

Golden files live in tests/report/golden/, one per example manifest, each planned in a temp copy of examples/
with no cache and no lock (so every scene renders). After a deliberate change of the format, regenerate them with
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/report/test_markdown.py`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from renderkit.cli import main
from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, build, manifest_text
from tests.fixtures.project import Project

EXAMPLES = Path(__file__).parents[2] / "examples"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # read at import: the autouse fixture cleans the environment


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_markdown_plan_of_each_example_matches_its_golden_file(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(example, tmp_path / example.name)
    shutil.copytree(EXAMPLES / "images", tmp_path / "images")
    monkeypatch.chdir(tmp_path)
    assert main(["plan", example.name, "--format", "markdown"]) == 0
    out, err = capsys.readouterr()
    golden = GOLDEN / f"{example.stem}.md"
    if UPDATE:
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    assert err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["images", example.name])  # nothing written


def test_every_golden_file_has_its_example() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.md")) == sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


def test_markdown_counts_the_change_against_the_lock(
    simulator: Simulator, project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    monkeypatch.chdir(project.root)
    scenes = [("keep", "A quiet harbor"), ("edit", "A market"), ("drop", "A lighthouse")]
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes)})
    assert build(project, capsys)[0] == 0
    edited = [("keep", "A quiet harbor"), ("edit", "A market in the rain"), ("fresh", "A ferry")]
    project.gen({"renderkit.yaml": manifest_text(simulator, edited, seconds=8)})
    assert main(["plan", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2] == "**3 to render, 0 cached: estimated cost $2.40**"
    assert lines[4] == (
        "Against `renderkit.lock`: 1 new, 2 changed, 1 removed, 0 unchanged; "
        "price of the whole video set $1.20 → $2.40 (+$1.20)"
    )
    assert "| `edit` | changed | render | seconds 4 -> 8, prompt changed | $0.80 |" in lines
    assert "| `fresh` | new | render | new scene | $0.80 |" in lines
    assert "| `drop` | removed | - | no longer in the manifest; renders/drop.mp4 is left | - |" in lines
    assert lines[-1] == "| **total** |  |  |  | **$2.40** |"
    project.gen({"renderkit.yaml": manifest_text(simulator, scenes)})
    assert main(["plan", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "0 new, 0 changed, 0 removed, 3 unchanged; price of the whole video set $1.20 → $1.20 (+$0.00)" in out
    assert out.endswith("| **total** |  |  |  | **$0.00** |\n\n3 unchanged scenes cached, not listed.\n")


def test_markdown_and_json_are_exclusive(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.gen({"renderkit.yaml": "version: 1\nscenes:\n  - id: a\n    prompt: a boat\n"})
    assert main(["plan", str(project.path("renderkit.yaml")), "--json", "--format", "markdown"]) == 2
    assert "--json and --format markdown both write to stdout" in capsys.readouterr().err
