"""The habits users bring from git, Terraform and DVC: -C, a manifest found from a subfolder, -q/-v, -j, repeated
--force, init, schema, completion, and files that follow the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from renderkit.manifest.schema import schema_text
from renderkit.simulator import Simulator
from tests.builds.helpers import manifest_text
from tests.cli.helpers import KEY, check_document, renderkit
from tests.fixtures.project import Project

SCENES = [("intro", "a red fox in snow"), ("outro", "a blue whale at dusk")]


def test_a_subfolder_finds_the_project_manifest_and_dash_c_runs_elsewhere(
    simulator: Simulator, project: Project
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES), "shots/notes/x.txt": "x"})
    deep = project.path("shots/notes")
    run = renderkit("plan", "--json", cwd=deep)
    assert run.code == 0, run.err
    assert run.doc["manifest"] == str(project.path("renderkit.yaml"))
    run = renderkit("-C", str(project.root), "validate", "--json", cwd=project.root.parent)
    assert (run.code, run.doc["manifest"]) == (0, str(project.path("renderkit.yaml")))
    run = renderkit("-C", str(project.path("missing")), "plan", cwd=project.root)
    assert run.code == 2
    assert "-C " in run.err


def test_renderkit_yml_is_found_and_two_manifests_are_refused(project: Project) -> None:
    project.gen({"renderkit.yml": "version: 1\nscenes:\n  - id: a\n    prompt: x\n"})
    assert renderkit("validate", cwd=project.root).code == 0
    project.gen({"renderkit.yaml": "version: 1\nscenes:\n  - id: b\n    prompt: y\n"})
    run = renderkit("validate", "--json", cwd=project.root)
    assert run.code == 2
    assert "both renderkit.yaml and renderkit.yml" in run.doc["error"]["message"]


def test_no_manifest_anywhere_says_how_to_start(tmp_path: Path) -> None:
    run = renderkit("plan", "--json", cwd=tmp_path)
    assert run.code == 2
    check_document(run.doc, "error")
    assert "renderkit init" in run.err


def test_force_repeats_instead_of_swallowing_the_manifest(simulator: Simulator, project: Project) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert renderkit("build", "-q", cwd=project.root).code == 0
    creates = simulator.ledger()["creates"]
    run = renderkit("build", "--force", "intro", "renderkit.yaml", "--json", "-j", "1", cwd=project.root)
    assert run.code == 0, run.err
    assert {s["id"]: s["status"] for s in run.doc["scenes"]} == {"intro": "rendered", "outro": "cached"}
    run = renderkit("build", "--force", "intro,outro", "--json", cwd=project.root)
    assert {s["status"] for s in run.doc["scenes"]} == {"rendered"}
    assert simulator.ledger()["creates"] == creates + 3
    run = renderkit("build", "-j", "0", cwd=project.root)
    assert run.code == 2
    assert "--jobs: a whole number of renders must be at least 1" in run.err


def test_quiet_prints_only_the_result_and_verbose_logs_each_exchange_without_the_key(
    simulator: Simulator, project: Project
) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    quiet = renderkit("build", "-q", cwd=project.root)
    assert (quiet.code, quiet.err, quiet.out) == (0, "", "")
    verbose = renderkit("-v", "build", "--force", "intro", cwd=project.root)
    assert verbose.code == 0
    lines = verbose.err.splitlines()
    assert f"renderkit: http: POST {simulator.base_url}/v1/videos -> 200 application/json" in "\n".join(lines)
    assert any(line.startswith(f"renderkit: http: GET {simulator.base_url}/v1/videos/") for line in lines)
    assert KEY not in verbose.err  # renderkit() checks it too; here the point is the log
    assert "authorization" not in verbose.err.lower()


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_every_written_file_follows_the_umask(simulator: Simulator, project: Project, mask: int, mode: int) -> None:
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES)})
    assert renderkit("build", "-q", cwd=project.root, umask=mask).code == 0
    assert renderkit("bundle", "-q", cwd=project.root, umask=mask).code == 0
    written = [
        project.path("renderkit.lock"),
        project.path("renders/intro.mp4"),
        project.path("renderkit.bundle.zip"),
    ]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: mode for p in written}


def test_init_starts_a_project_that_builds_on_the_simulator_and_overwrites_nothing(tmp_path: Path) -> None:
    run = renderkit("init", "--json", cwd=tmp_path)
    assert run.code == 0, run.err
    check_document(run.doc, "init")
    manifest = tmp_path / "renderkit.yaml"
    assert manifest.read_text().startswith("# yaml-language-server: $schema=renderkit.schema.json\n")
    assert (tmp_path / "renderkit.schema.json").read_text() == schema_text("manifest")
    built = renderkit("build", "--json", cwd=tmp_path)
    assert built.code == 0, built.err
    assert built.doc["totals"]["rendered"] == 2
    before = manifest.read_bytes()
    again = renderkit("init", "--json", cwd=tmp_path)
    assert again.code == 2
    assert "already exists" in again.doc["error"]["message"]
    assert manifest.read_bytes() == before


def test_schema_prints_and_writes_the_packaged_schemas(tmp_path: Path) -> None:
    run = renderkit("schema", cwd=tmp_path)
    assert run.out == schema_text("manifest")
    assert json.loads(renderkit("schema", "output", cwd=tmp_path).out)["$defs"]["build"]
    assert renderkit("schema", "--out", "editor/renderkit.schema.json", cwd=tmp_path).code == 0
    assert (tmp_path / "editor/renderkit.schema.json").read_text() == schema_text("manifest")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_are_written_for_each_shell(shell: str, tmp_path: Path) -> None:
    run = renderkit("completion", shell, cwd=tmp_path)
    assert run.code == 0
    assert "renderkit" in run.out
    if shell == "bash":
        script = tmp_path / "renderkit.bash"
        script.write_text(run.out)
        parsed = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert parsed.returncode == 0, parsed.stderr


@pytest.mark.parametrize(
    ("line", "offered"),
    [("renderkit bu", {"build", "bundle"}), ("renderkit build --f", {"--force", "--frozen"}), ("renderkit -", {"-C"})],
)
def test_completion_answers_what_a_shell_asks(line: str, offered: set[str], tmp_path: Path) -> None:
    """The argcomplete protocol as bash drives it: the line in COMP_LINE, the answers on file descriptor 8."""
    read, write = os.pipe()
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": "\013",
        "_ARGCOMPLETE_SHELL": "bash",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "COMP_TYPE": "9",
    }
    command = ["bash", "-c", f'exec "$0" -m renderkit 8>&{write}', sys.executable]
    try:
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, pass_fds=(write,), stderr=subprocess.PIPE)
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as answers:
        words = set(answers.read().decode().split("\013"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert offered <= words
