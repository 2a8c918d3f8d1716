"""Bad manifests: each one exits 2 with its error located as FILE:LINE:COL: field, writes nothing, sends nothing.

Each file in bad/ starts with ``# expect: LINE:COL FIELD [CODE]`` (``-`` when the error has no field): the
location, and the stable diagnostic code that scripts and docs may rely on.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

import pytest

from renderkit.cli import main
from renderkit.manifest.document import MAX_BYTES
from tests.fixtures.project import Project
from tests.manifest.conftest import PNG, snapshot

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))
COMMANDS = ["validate", "plan", "build", "report"]
pytestmark = pytest.mark.usefixtures("no_network")


def expectation(case: Path) -> tuple[int, int, str, str]:
    raw = case.read_bytes()
    text = raw.decode("utf-16") if raw.startswith(codecs.BOM_UTF16_LE) else raw.decode("utf-8", "replace")
    header = text.split("\n", 1)[0].rstrip("\r")
    m = re.fullmatch(r"# expect: (\d+):(\d+) (\S+) \[([a-z0-9-]+)\]", header)
    assert m, f"{case.name}: the first line must be '# expect: LINE:COL FIELD [CODE]'"
    return int(m[1]), int(m[2]), m[3], m[4]


def run_bad(project: Project, name: str, command: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run ``command`` on ``name``; assert exit 2, nothing on stdout, nothing written; return stderr lines."""
    before = snapshot(project.root)
    code = main([command, name])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert snapshot(project.root) == before
    return err.splitlines()


def test_the_corpus_is_large_and_every_file_is_annotated() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        expectation(case)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_bad_manifest_is_located(case: Path, command: str, here: Project, capsys: pytest.CaptureFixture[str]) -> None:
    here.gen({case.name: case.read_bytes(), "ok.png": PNG})
    lines = run_bad(here, case.name, command, capsys)
    line, col, field, code = expectation(case)
    want = f"{case.name}:{line}:{col}:" + ("" if field == "-" else f" {field}:")
    assert any(x.startswith(want) and x.endswith(f" [{code}]") for x in lines), "\n".join(lines)
    # Every line is a diagnostic in the FILE:LINE:COL format, so editors and CI can parse the output.
    assert all(re.match(rf"{re.escape(case.name)}:\d+:\d+: ", x) for x in lines), "\n".join(lines)


@pytest.mark.parametrize("command", COMMANDS)
def test_huge_file_is_refused_before_parsing(command: str, here: Project, capsys: pytest.CaptureFixture[str]) -> None:
    filler = "# " + "x" * 1000 + "\n"
    here.gen({"big.yaml": "version: 1\n" + filler * (MAX_BYTES // len(filler) + 1)})
    lines = run_bad(here, "big.yaml", command, capsys)
    assert lines[0].startswith("big.yaml:1:1: ")
    assert "larger than 10 MiB" in lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_prompt_over_the_api_limit_is_refused(command: str, here: Project, capsys: pytest.CaptureFixture[str]) -> None:
    here.gen({"renderkit.yaml": "version: 1\nscenes:\n  - id: a\n    prompt: " + "word " * 6401 + "\n"})
    lines = run_bad(here, "renderkit.yaml", command, capsys)
    assert lines == [
        "renderkit.yaml:4:13: scenes[0].prompt: is longer than 32000 characters; shorten it [schema-max-length]"
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_image_symlink_escaping_the_project_is_refused(
    command: str, here: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = here.root.parent / "outside.png"
    outside.write_bytes(PNG)
    here.gen({"renderkit.yaml": "version: 1\nscenes:\n  - id: a\n    prompt: x\n    image: img/link.png\n"})
    here.path("img").mkdir()
    os.symlink(outside, here.path("img/link.png"))
    lines = run_bad(here, "renderkit.yaml", command, capsys)
    assert lines[0].startswith(
        "renderkit.yaml:5:12: scenes[0].image: img/link.png escapes the project through a symlink"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_or_directory_manifest_is_a_usage_error(
    command: str, here: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command]) == 2
    assert "no renderkit.yaml here or in any parent folder" in capsys.readouterr().err
    here.path("dir.yaml").mkdir()
    assert main([command, "dir.yaml"]) == 2
    assert "dir.yaml: is a directory" in capsys.readouterr().err
    assert here.files() == set()
