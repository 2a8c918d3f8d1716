"""Every limit on what a provider sends is bounded and named when hit: answers, videos, speed, paging, retries."""

from __future__ import annotations

import socket

import pytest

from renderkit.simulator import Simulator
from tests.builds.helpers import KEY, SCENES, build, manifest_text, statuses, stopped
from tests.fixtures.project import Project


@pytest.fixture(autouse=True)
def sim_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)


@pytest.mark.parametrize("lie", ["poll:huge=20:@1", "poll:bomb=40:@1"])
def test_an_oversized_or_gzip_bomb_answer_is_refused_unread_and_polled_again(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str], lie: str
) -> None:
    simulator.add_fault(lie)
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1])})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "rendered"}
    assert "with more than 8 MiB, far more than any real answer" in err
    assert simulator.ledger()["creates"] == 1


def test_a_video_with_no_end_stops_at_max_download_mb(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("content:endless")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], provider_extra="max_download_mb: 3")})
    code, report, err = build(project, capsys)
    assert code == 1
    assert statuses(report) == {"intro": "failed"}
    assert "larger than 3 MiB (max_download_mb)" in err
    assert simulator.ledger()["requests"]["GET /v1/videos/{video_id}/content"] == 1, "no retry: it would not end either"
    assert not list(project.root.glob(".renderkit/blobs/*/*")), "nothing of it entered the blob store"


def test_a_trickling_video_is_cut_at_the_stall_timeout_and_resumed(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("content:trickle=0.02:@1")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], provider_extra="stall_timeout: 0.3")})
    code, report, err = build(project, capsys)
    assert code == 0, err
    assert statuses(report) == {"intro": "rendered"}
    assert "(stall_timeout)" in err
    assert simulator.ledger()["creates"] == 1


def test_a_list_that_pages_forever_stops_after_50_pages(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:drop-after:@1")
    simulator.add_fault("list:pages")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1], kind="openai")})
    code, report, err = build(project, capsys)
    assert code == 1
    assert statuses(report) == {"intro": "failed"}
    assert "past 50 pages" in err
    assert simulator.ledger()["requests"]["GET /v1/videos"] == 50
    assert simulator.ledger()["creates"] == 1


def test_a_create_refused_with_429_forever_gives_up_after_20_attempts(
    simulator: Simulator, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.add_fault("create:429=0.01")
    project.gen({"renderkit.yaml": manifest_text(simulator, SCENES[:1])})
    code, report, err = build(project, capsys)
    assert code == 1
    assert statuses(report) == {"intro": "failed"}
    assert "refused 20 creates" in err
    assert "Nothing was paid" in err
    assert simulator.ledger()["creates"] == 0
    assert simulator.ledger()["requests"]["POST /v1/videos"] == 20


def test_an_unreachable_base_url_fails_fast_with_the_right_words(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = manifest_text_for(f"http://127.0.0.1:{port}")
    project.gen({"renderkit.yaml": text})
    code, report, err = build(project, capsys)
    assert code == 1
    assert stopped(report, 1)
    assert "could not connect" in err
    assert "nothing was sent, so nothing was paid" in err
    assert "journaled" not in err
    assert err.count("nothing was sent, so nothing was paid") == 1
    assert "s1:" not in err, "the first create to an unreachable provider goes alone, and stops the build"


def manifest_text_for(base_url: str) -> str:
    return (
        "version: 1\nproviders:\n  main: {kind: simulator, base_url: '" + base_url + "', api_key_env: SIM_API_KEY}\n"
        "defaults: {provider: main, model: sora-2, size: 1280x720, seconds: 4}\n"
        "scenes:\n" + "".join(f"  - {{id: s{i}, prompt: shot {i}}}\n" for i in range(5))
    )
