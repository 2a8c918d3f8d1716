"""The no-op memo answers only when nothing changed; any change falls through to a full build."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from renderkit import __version__
from renderkit.simulator import Simulator
from renderkit.store import memo as noop
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses
from tests.fixtures.project import Project


def png(color: str) -> bytes:
    """A real 64x36 PNG of one colour."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 36), color).save(out, format="PNG")
    return out.getvalue()


PNG = png("teal")


@pytest.fixture
def built(simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIM_API_KEY", KEY)
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES), "ref.png": PNG})
    code, _, err = build(project, capsys)
    assert code == 0, err
    return project


def memo(project: Project) -> dict[str, object] | None:
    return noop.check(project.path("renderkit.yaml"), __version__, os.environ)


def test_memo_answers_a_noop_with_the_cached_report(
    built: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = memo(built)
    assert stored is not None
    before = simulator.ledger()["requests"]
    code, report, _ = build(built, capsys)
    assert code == 0
    doc = stored["doc"]
    assert isinstance(doc, dict)
    assert report == {"format_version": 1, **doc}
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["requests"] == before


@pytest.mark.parametrize("flags", [[], ["--json", "-q"]])
def test_a_noop_build_is_answered_before_argparse_yaml_async_or_dataclasses_load(
    built: Project, flags: list[str]
) -> None:
    code = (
        "import sys; from renderkit.cli import main; code = main(['build', *sys.argv[1:]]); "
        "print(sorted(m for m in ('argparse', 'logging', 'yaml', 'anyio', 'httpx', 'dataclasses') "
        "if m in sys.modules), "
        "file=sys.stderr); raise SystemExit(code)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, *flags], cwd=built.root, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines()[-1] == "[]"
    if flags:
        assert json.loads(run.stdout)["totals"]["cached"] == len(SCENES)
    else:
        assert run.stderr.splitlines()[0].startswith(f"renderkit: {len(SCENES)} scene(s): 0 rendered")


def _edit_output(p: Project) -> None:
    p.path("renders/intro.mp4").write_bytes(b"tampered")


def _delete_lock(p: Project) -> None:
    p.path("renderkit.lock").unlink()


def _comment(p: Project) -> None:
    p.path("renderkit.yaml").write_text(p.path("renderkit.yaml").read_text() + "# a comment\n")


@pytest.mark.parametrize("change", [_edit_output, _delete_lock, _comment], ids=["output", "lock", "comment"])
def test_any_change_invalidates_the_memo_and_the_full_build_repairs_it(
    built: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str], change: Callable[[Project], None]
) -> None:
    lock = built.path("renderkit.lock").read_bytes()
    change(built)
    assert memo(built) is None
    before = simulator.ledger()["requests"]
    code, report, _ = build(built, capsys)
    assert code == 0
    assert set(statuses(report).values()) == {"cached"}
    assert simulator.ledger()["requests"] == before
    assert built.path("renderkit.lock").read_bytes() == lock
    assert memo(built) is not None


def test_a_changed_input_image_invalidates_the_memo(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    text = manifest_text(simulator, SCENES[:1]).replace("    prompt:", "    image: ref.png\n    prompt:")
    project.gen({"renderkit.yaml": text, "ref.png": PNG})
    code, _, err = build(project, capsys)
    assert code == 0, err
    assert memo(project) is not None
    project.path("ref.png").write_bytes(png("orange"))
    assert memo(project) is None


def test_prompt_change_is_never_answered_from_the_memo(
    built: Project, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    built.gen({"renderkit.yaml": manifest_text(simulator, [*SCENES[:2], ("outro", "Different credits")])})
    assert memo(built) is None
    code, report, _ = build(built, capsys)
    assert code == 0
    assert statuses(report)["outro"] == "rendered"


def test_an_unwritable_memo_only_costs_the_shortcut(tmp_path: Path) -> None:
    manifest = tmp_path / "renderkit.yaml"
    manifest.write_text("version: 1\n")
    blocker = tmp_path / ".renderkit"
    blocker.write_text("a file where the cache directory should be")
    noop.record(manifest, __version__, {}, [str(manifest)], {"doc": {}})
    assert noop.check(manifest, __version__, {}) is None


def test_a_build_that_renders_does_not_load_the_httpx_command_line(
    simulator: Simulator, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES), "ref.png": PNG})
    code = (
        "import sys; from renderkit.cli import main; code = main(['build', '-q']); "
        "print(sorted(m for m in ('httpx', 'rich', 'click', 'pygments') if m in sys.modules), file=sys.stderr); "
        "raise SystemExit(code)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines()[-1] == "['httpx']"
