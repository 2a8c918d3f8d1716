"""Every command's --json document, on success and on failure, against the packaged output schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import manifest_text
from tests.cli.helpers import check_document, renderkit
from tests.fixtures.project import Project

SCENES = [("intro", "a red fox in snow"), ("outro", "a blue whale at dusk")]


def test_a_project_round_trip_writes_one_valid_document_per_command(
    simulator: Simulator, project: Project, tmp_path: Path
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    remote = {"RENDERKIT_REMOTE": (tmp_path / "remote").as_uri()}
    root = project.root

    run = renderkit("validate", "--json", cwd=root)
    assert run.code == 0
    check_document(run.doc, "validate")
    assert (run.doc["scenes"], run.doc["manifest"]) == (2, str(root / "renderkit.yaml"))

    run = renderkit("plan", "--json", "--detailed-exitcode", cwd=root)
    assert run.code == 2  # something would render
    check_document(run.doc, "plan")
    assert run.doc["totals"]["rendered"] == 2
    assert run.doc["refused"] is None

    run = renderkit("build", "--json", cwd=root)
    assert run.code == 0, run.err
    check_document(run.doc, "build")
    assert run.doc["manifest"] == str(root / "renderkit.yaml")  # absolute, as in plan
    assert isinstance(run.doc["totals"]["cost_usd"], float)

    run = renderkit("plan", "--json", "--detailed-exitcode", cwd=root)
    assert run.code == 0  # nothing to render
    check_document(run.doc, "plan")
    assert run.doc["totals"] == {"rendered": 0, "cached": 2, "failed": 0, "cost_usd": 0.0, "unknown_cost": 0}
    assert isinstance(run.doc["totals"]["cost_usd"], float)

    run = renderkit("verify", "--json", cwd=root)
    assert run.code == 0
    check_document(run.doc, "verify")
    assert run.doc["mismatches"] == 0
    assert len(run.doc["files"]) == 2

    run = renderkit("bundle", "--json", cwd=root)
    assert run.code == 0, run.err
    check_document(run.doc, "bundle")
    assert Path(run.doc["bundle"]).is_file()

    run = renderkit("push", "--json", cwd=root, env=remote)
    assert run.code == 0, run.err
    check_document(run.doc, "transfer")
    assert len(run.doc["moved"]) == 2

    run = renderkit("pull", "--json", cwd=root, env=remote)
    assert run.code == 0, run.err
    check_document(run.doc, "transfer")
    assert len(run.doc["present"]) == 2

    run = renderkit("gc", "--json", "--dry-run", cwd=root)
    assert run.code == 0, run.err
    check_document(run.doc, "gc")
    assert (run.doc["locks"], run.doc["kept"]) == (1, 2)

    run = renderkit("report", "--json", cwd=root)
    assert run.code == 0, run.err
    check_document(run.doc, "report")
    assert Path(run.doc["page"]).is_file()


def test_a_scene_with_takes_lists_its_candidates_in_plan_and_build(simulator: Simulator, project: Project) -> None:
    text = manifest_text(simulator, SCENES[:1]).replace('"a red fox in snow"', '"a red fox in snow"\n    takes: 2')
    assert "takes: 2" in text
    project.gen({"renderkit.yaml": text})
    for command in ("plan", "build"):
        run = renderkit(command, "--json", cwd=project.root)
        assert run.code == 0, run.err
        check_document(run.doc, command)
        (scene,) = run.doc["scenes"]
        assert [(t["take"], t["picked"]) for t in scene["takes"]] == [(1, True), (2, False)]


BAD = "version: 1\nscenes:\n  - id: a\n    prompt: x\n    seconds: many\n"


@pytest.mark.parametrize("command", ["validate", "plan", "build", "bundle", "push", "pull", "gc", "report"])
def test_bad_input_gives_an_error_document_with_located_diagnostics(command: str, project: Project) -> None:
    project.gen({"renderkit.yaml": BAD})
    run = renderkit(command, "--json", cwd=project.root)
    assert run.code == 2
    check_document(run.doc, "error")
    assert run.doc["exit_code"] == 2
    (diagnostic,) = run.doc["error"]["diagnostics"]
    assert (diagnostic["line"], diagnostic["col"], diagnostic["path"]) == (5, 14, "scenes[0].seconds")
    assert "renderkit.yaml:5:14: scenes[0].seconds:" in run.err
    assert project.files() == {"renderkit.yaml"}  # nothing written


def test_verify_of_a_missing_lock_is_an_error_document(project: Project) -> None:
    project.gen({"renderkit.yaml": "version: 1\nscenes:\n  - id: a\n    prompt: x\n"})
    run = renderkit("verify", "--json", cwd=project.root)
    assert run.code != 0
    check_document(run.doc, "error")
    assert run.doc["exit_code"] == run.code
    assert "renderkit.lock" in run.doc["error"]["message"]


def test_plan_detailed_exitcode_says_when_the_build_would_be_refused(simulator: Simulator, project: Project) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    run = renderkit("plan", "--json", "--detailed-exitcode", "--max-cost", "0.10", cwd=project.root)
    assert run.code == 3
    check_document(run.doc, "plan")
    assert "--max-cost" in run.doc["refused"]
    assert "build would refuse" in run.err
    assert renderkit("plan", "--max-cost", "0.10", cwd=project.root).code == 0  # without the flag, plan reports
    assert simulator.ledger()["requests"] == {}


def test_a_build_refused_for_its_cost_is_an_error_document(simulator: Simulator, project: Project) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    run = renderkit("build", "--json", "--max-cost", "0.10", cwd=project.root)
    assert run.code == 3
    check_document(run.doc, "error")
    assert run.doc["error"]["type"] == "RefusedError"
    assert simulator.ledger()["requests"] == {}


def test_frozen_without_a_lock_names_the_manifests_own_lock(simulator: Simulator, project: Project) -> None:
    project.gen({"openai.yaml": manifest_text(simulator, SCENES)})
    run = renderkit("build", "--frozen", "--json", "openai.yaml", cwd=project.root)
    assert run.code == 3
    assert "there is no openai.lock" in run.doc["error"]["message"]
    assert "renderkit.lock" not in run.err
