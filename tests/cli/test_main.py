"""The CLI's top level: version, usage and unknown commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from renderkit import __version__
from renderkit.cli import main


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"renderkit {__version__}"


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explode"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_process_entry_freezes_what_it_leaves_and_an_embedded_call_does_not(tmp_path: Path) -> None:
    # The console script calls main() and exits: frozen, the objects a build left skip the interpreter's last
    # collection. A program that calls main(args) goes on living, so its garbage must stay collectable.
    (tmp_path / "renderkit.yaml").write_text("version: 1\nscenes:\n  - {id: a, prompt: a boat, model: sora-2}\n")
    code = (
        "import gc, sys; from renderkit.cli import main; sys.argv = ['renderkit', 'validate']; "
        "embedded = main(['validate']); embedded_frozen = gc.get_freeze_count(); code = main(); "
        "print(embedded, embedded_frozen, code, gc.get_freeze_count() > 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["0", "0", "0", "True"], out.stderr
