"""gc keeps what any lock of the project references: other manifests sharing the cache, other git branches."""

from __future__ import annotations

import subprocess

import pytest

from renderkit.cli import main
from renderkit.simulator import Simulator
from renderkit.store.cache import Cache
from renderkit.store.layout import CacheLayout
from tests.builds.helpers import KEY, SCENES, build, manifest_text
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


def git(project: Project, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "HOME": str(project.root)}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "-C", str(project.root), *args], check=True, capture_output=True, env=env, timeout=60)


def cached_keys(project: Project) -> set[str]:
    cache = Cache(CacheLayout(project.path(".renderkit")))
    try:
        return set(cache.keys())
    finally:
        cache.close()


def test_gc_keeps_the_renders_of_every_manifest_sharing_the_cache(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gen(
        {"renderkit.yaml": manifest_text(simulator, SCENES[:2]), "other.yaml": manifest_text(simulator, SCENES[2:])}
    )
    assert build(project, capsys)[0] == 0
    assert main(["build", str(project.path("other.yaml"))]) == 0
    before = cached_keys(project)
    assert len(before) == 3
    assert main(["gc", str(project.path("renderkit.yaml"))]) == 0
    assert cached_keys(project) == before, "other.lock beside other.yaml keeps its render"
    project.path("other.lock").unlink()
    assert main(["gc", str(project.path("renderkit.yaml")), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "would drop 1 record(s)" in err
    assert cached_keys(project) == before, "--dry-run deletes nothing"
    assert main(["gc", str(project.path("renderkit.yaml"))]) == 0
    assert len(cached_keys(project)) == 2


def test_gc_keeps_what_another_branch_pins(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    git(project, "init", "-q", "-b", "main")
    project.gen({".gitignore": ".renderkit/\nrenders/\n", "renderkit.yaml": manifest_text(simulator, SCENES)})
    assert build(project, capsys)[0] == 0
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "three scenes")
    git(project, "checkout", "-q", "-b", "night")
    night = [(i, p + " at night") for i, p in SCENES]
    project.gen({"renderkit.yaml": manifest_text(simulator, night)})
    assert build(project, capsys)[0] == 0
    git(project, "commit", "-q", "-am", "night")
    git(project, "checkout", "-q", "main")
    assert len(cached_keys(project)) == 6
    before = simulator.ledger()["creates"]
    assert main(["gc", str(project.path("renderkit.yaml"))]) == 0
    assert len(cached_keys(project)) == 6, "the night branch's lock keeps its renders"
    git(project, "checkout", "-q", "night")
    assert build(project, capsys)[0] == 0
    assert simulator.ledger()["creates"] == before, "switching back pays nothing"
    git(project, "checkout", "-q", "main")
    git(project, "branch", "-q", "-D", "night")
    dawn = [(i, p + " at dawn") for i, p in SCENES]
    project.gen({"renderkit.yaml": manifest_text(simulator, dawn)})
    assert build(project, capsys)[0] == 0
    git(project, "commit", "-q", "-am", "dawn")
    capsys.readouterr()
    assert main(["gc", str(project.path("renderkit.yaml")), "--all-commits", "--dry-run"]) == 0
    assert "would drop 3 record(s)" in capsys.readouterr().err, "history keeps the first lock; night is gone"
    assert len(cached_keys(project)) == 9
    assert main(["gc", str(project.path("renderkit.yaml"))]) == 0
    assert len(cached_keys(project)) == 3, "only the tips' locks count without --all-commits"
