"""`renderkit validate` and `renderkit plan` on good manifests: exit codes, output streams, JSON shape."""

from __future__ import annotations

import json

import pytest

from renderkit.cli import main
from tests.fixtures.project import Project
from tests.manifest.conftest import snapshot

pytestmark = pytest.mark.usefixtures("no_network")

MANIFEST = """version: 1
defaults: {size: 1280x720, seconds: 4}
budget: 1
scenes:
  - {id: skyline, prompt: A skyline}
  - {id: night, remix_of: skyline, prompt: Night}
  - {id: odd, prompt: x, model: kling-2}
"""


def test_validate_prints_warnings_and_exits_zero(here: Project, capsys: pytest.CaptureFixture[str]) -> None:
    here.gen({"renderkit.yaml": MANIFEST})
    assert main(["validate"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "renderkit.yaml:7:33: scenes[2].model: warning: model 'kling-2' is not in renderkit's catalog: "
        "no size or seconds checks and no cost estimate [model-unknown]",
        "renderkit.yaml: valid, 3 scenes",
    ]


def test_plan_json_lists_every_scene_and_writes_nothing(here: Project, capsys: pytest.CaptureFixture[str]) -> None:
    here.gen({"renderkit.yaml": MANIFEST})
    before = snapshot(here.root)
    assert main(["plan", "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["manifest"] == str(here.path("renderkit.yaml"))
    assert [(s["id"], s["status"], s["reason"]) for s in doc["scenes"]] == [
        ("skyline", "render", "new scene"),
        ("night", "blocked", "upstream skyline re-renders; new scene"),
        ("odd", "render", "new scene"),
    ]
    first = doc["scenes"][0]
    assert set(first) == {
        "id",
        "key",
        "status",
        "reason",
        "task_id",
        "file",
        "sha256",
        "bytes",
        "cost_usd",
        "depends_on",
        "shots",
        "takes",
    }
    assert (doc["scenes"][1]["depends_on"], first["depends_on"], first["shots"], first["takes"]) == (
        ["skyline"],
        [],
        None,
        None,
    )
    assert (first["file"], first["cost_usd"], len(first["key"])) == ("renders/skyline.mp4", 0.4, 64)
    assert doc["scenes"][2]["cost_usd"] is None
    assert doc["totals"] == {"rendered": 3, "cached": 0, "failed": 0, "cost_usd": 0.8, "unknown_cost": 1}
    assert "over the budget of $1.00" not in err
    assert "3 to render, 0 cached; estimated cost $0.80 plus unknown for odd" in err
    assert snapshot(here.root) == before


def test_plan_table_warns_over_budget_and_rejects_unknown_force(
    here: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    here.gen({"renderkit.yaml": MANIFEST.replace("budget: 1", "budget: 0.5")})
    assert main(["plan"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "build would refuse:" in err
    assert "a cost cap of $0.50 is set" in err.split("build would refuse:")[1]
    assert main(["plan", "--force", "nope"]) == 2
    assert "--force nope: no scene has that id" in capsys.readouterr().err


def test_plan_json_reads_cached_renders_from_the_real_cache(here: Project, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    from renderkit.store.cache import Cache, Record
    from renderkit.store.layout import CacheLayout

    here.gen({"renderkit.yaml": MANIFEST})
    assert main(["plan", "--json"]) == 0
    skyline = json.loads(capsys.readouterr().out)["scenes"][0]
    video = b"\0\0\0\x18ftypmp42 pretend video"
    digest = hashlib.sha256(video).hexdigest()
    cache = Cache(CacheLayout(here.root / ".renderkit"))
    tmp = cache.temp_path("upload")
    tmp.write_bytes(video)
    cache.add_blob(tmp, digest)
    cache.put(Record(skyline["key"], {}, "simulator", "video_123", digest, len(video)))
    cache.close()

    assert main(["plan", "--json"]) == 0
    scenes = json.loads(capsys.readouterr().out)["scenes"]
    assert scenes[0] | {"key": "-"} == {
        "id": "skyline",
        "key": "-",
        "status": "cached",
        "reason": "same request as a cached render",
        "task_id": "video_123",
        "file": "renders/skyline.mp4",
        "sha256": digest,
        "bytes": len(video),
        "cost_usd": 0.0,
        "depends_on": [],
        "shots": None,
        "takes": None,
    }
    assert (scenes[1]["status"], scenes[1]["reason"], scenes[1]["task_id"]) == ("render", "new scene", None)
