"""`renderkit sim`: the first stdout line, clean shutdown, and refusals before serving."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx
import pytest

from renderkit.cli import main


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_sim_serves_until_interrupted(stop: signal.Signals) -> None:
    command = [sys.executable, "-m", "renderkit", "sim", "--port", "0", "--dialect", "envelope", "--api-key", "k1"]
    command += ["--fault", "list:503:@1", "--seed", "3", "--latency", "0.1", "--poll-after-ms", "5"]
    command += ["--rpm", "1", "--rate-window", "30", "--max-in-flight", "4", "--pad-to", "100000", "--fps", "4"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().rstrip("\n")
            assert line.startswith("renderkit simulator listening on http://127.0.0.1:")
            base = line.rsplit(" ", 1)[1]
            headers = {"authorization": "Bearer k1"}
            assert httpx.get(base + "/v1/videos", headers=headers).status_code == 503
            created = httpx.post(base + "/v1/videos", headers=headers, json={"prompt": "p"})
            assert created.json()["code"] == "success"
            assert created.headers["openai-poll-after-ms"] == "5"
            assert httpx.post(base + "/v1/videos", headers=headers, json={"prompt": "p"}).status_code == 429
            assert httpx.post(base + "/v1/videos", json={"prompt": "p"}).status_code == 401
            assert httpx.get(base + "/_sim/ledger").json()["creates"] == 1
        finally:
            proc.send_signal(stop)
            _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "::"], "non-loopback"),
        (["--fault", "create:boom"], "unknown kind"),
        (["--latency", "-1"], "latency"),
    ],
)
def test_bad_options_exit_2_before_serving(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["sim", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_a_busy_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["sim", "--port", str(port)]) == 2
    assert "choose another --port" in capsys.readouterr().err


def test_dialect_choices_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--dialect", "xml"]) == 2
    assert "invalid choice" in capsys.readouterr().err
