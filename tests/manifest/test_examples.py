"""Every shipped example is valid, editor-annotated, and covers each provider family."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from renderkit.cli import main
from renderkit.manifest.load import load_manifest
from renderkit.simulator import Simulator
from tests.manifest.conftest import flat_scenes

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
FILES = sorted(EXAMPLES.glob("*.yaml"))
HEADER = "# yaml-language-server: $schema=../schemas/manifest.v1.schema.json"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_example_is_valid_and_names_the_schema(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert (path.parent / HEADER.split("=")[1]).is_file()
    assert load_manifest(path).warnings == ()


def test_examples_cover_every_family_storyboard_image_input_continuity_and_extension() -> None:
    manifests = {p.stem: load_manifest(p) for p in FILES}
    kinds = {p.kind for m in manifests.values() for p in m.providers.values()}
    assert kinds == {"openai", "generations", "unified", "simulator"}
    quick = manifests["quickstart"]
    assert set(quick.providers) == {"simulator"}
    assert all((s.model, s.size, s.seconds) == ("sora-2", "1280x720", 4) for s in flat_scenes(quick))
    assert 3 <= len(flat_scenes(quick)) <= 4
    scenes = [s for m in manifests.values() for s in flat_scenes(m)]
    assert any(s.storyboard for s in scenes)
    assert any(s.image is not None and s.image.sha256 is not None for s in scenes)
    assert any(s.model.startswith("veo-") for s in scenes)
    assert any(s.continue_from for s in scenes)
    assert any(s.extend_of for s in scenes)


def test_example_images_are_small() -> None:
    images = list((EXAMPLES / "images").iterdir())
    assert images
    assert all(p.stat().st_size < 64 * 1024 for p in images)


def test_quickstart_copied_elsewhere_still_validates(tmp_path: Path) -> None:
    target = tmp_path / "renderkit.yaml"
    shutil.copy(EXAMPLES / "quickstart.yaml", target)
    ids = [s.id for s in load_manifest(target).scenes]
    assert ids == ["harbor-dawn", "market", "lighthouse", "lighthouse-night"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_example_builds_on_the_simulator(
    path: Path,
    simulator: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each example, with its provider pointed at the simulator, builds and writes a lock."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("*.lock", ".renderkit", "renders", "ci"))
    manifest = project / path.name
    text = manifest.read_text(encoding="utf-8")
    if "providers:" in text:
        # The example's own provider, pointed at the simulator and paced for a test (no real waits).
        text = re.sub(r"base_url: \S+", f"base_url: {simulator.base_url}", text)
        text = re.sub(r"poll_interval: \S+", "poll_interval: 0.05", text)
        text = re.sub(r"\n +rpm: \S+", "", text)
    else:
        # Rather than the embedded simulator at its real pace, the test's simulator (a few frames per second).
        sim = f"providers:\n  sim: {{kind: simulator, base_url: '{simulator.base_url}', poll_interval: 0.05}}\n"
        text = text.replace("version: 1\n", "version: 1\n" + sim, 1)
    manifest.write_text(text, encoding="utf-8")
    for name in ("CRAZYROUTER_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, "sk-example")
    code = main(["build", str(manifest)])
    assert code == 0, capsys.readouterr().err
    assert (project / f"{path.stem}.lock").is_file()
