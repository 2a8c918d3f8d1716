"""Hypothesis against the manifest loader: whatever bytes renderkit.yaml holds, loading it returns a Manifest or
raises renderkit's own error with a message, never anything else."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from renderkit.errors import ManifestError, RenderkitError
from renderkit.manifest.load import load_manifest
from renderkit.manifest.schema import manifest_schema

EXAMPLES = Path(__file__).parents[2] / "examples"
SEEDS = {path.name: path.read_bytes() for path in sorted(EXAMPLES.glob("*.yaml"))}
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/ (images included) plus images that lie: garbage with a PNG signature, and a folder."""
    root = tmp_path_factory.mktemp("fuzz") / "project"
    shutil.copytree(EXAMPLES, root)
    (root / "images" / "liar.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    (root / "images" / "folder.png").mkdir()
    return root


def refusal(folder: Path, content: bytes) -> RenderkitError | None:
    """Load ``content`` as the project's manifest: None if it loads, else the RenderkitError it raised."""
    path = folder / "renderkit.yaml"
    path.write_bytes(content)
    try:
        load_manifest(path)
    except RenderkitError as exc:
        return exc
    return None


def check(refused: RenderkitError | None) -> None:
    """A refusal says what is wrong; a ManifestError says where, too."""
    if isinstance(refused, ManifestError):
        assert refused.diagnostics
        assert all(d.line >= 1 and d.col >= 1 and d.message for d in refused.diagnostics)
    assert refused is None or str(refused)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """An example manifest with a few bytes cut, repeated, replaced or inserted."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        span = draw(st.integers(0, 12))
        edit = draw(st.sampled_from(["cut", "repeat", "replace", "insert"]))
        noise = draw(
            st.binary(min_size=1, max_size=8)
            | st.sampled_from(
                [b": ", b"- ", b"\n  ", b"&a ", b"*a", b"!!binary ", b"{", b"[", b"'", b"\t", b"\xef\xbb\xbf"]
            )
        )
        if edit == "cut":
            del data[at : at + span]
        elif edit == "repeat":
            data[at:at] = data[at : at + span]
        elif edit == "replace":
            data[at : at + len(noise)] = noise
        else:
            data[at:at] = noise
    return bytes(data)


@FUZZ
@given(content=mutated())
@example(content=b"")
@example(content=b"\xff\xfe\x00")
@example(content=b"a: &a [*a]\n")
@example(content=b"version: 1\nscenes: [" * 2000)
@example(content=b"version: 1\nscenes:\n  - !!python/object/apply:os.system ['true']\n")
@example(content=b"version: !!binary AAAA\nscenes: []\n")
def test_any_bytes_load_or_say_what_is_wrong(folder: Path, content: bytes) -> None:
    check(refusal(folder, content))


SCENE_FIELDS = sorted(manifest_schema()["$defs"]["scene"]["properties"])
PROVIDER_FIELDS = sorted(manifest_schema()["$defs"]["provider"]["properties"])
PLAUSIBLE = [
    "s0", "s1", "sora-2", "1280x720", "720x1280", "images/paper-boat.png", "images/liar.png", "images/folder.png",
    "images/missing.png", "../outside.png", "/etc/passwd", ".", "https://x.example/a.png", "data:image/png;base64,AA",
    4, 8, 0, -1, 1e308, [{"prompt": "a shot", "seconds": 4}],
]  # fmt: skip
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(PLAUSIBLE),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
scenes = st.dictionaries(
    st.sampled_from([*SCENE_FIELDS, "promt"]),
    values,
).map(lambda scene: {"id": "s0", "prompt": "a shot", **scene})
providers = st.dictionaries(
    st.sampled_from(["main", "sim", ""]),
    st.fixed_dictionaries(
        {"kind": st.sampled_from(["openai", "generations", "unified", "simulator", "gateway"])},
        optional=dict.fromkeys([name for name in PROVIDER_FIELDS if name != "kind"], values),
    ),
    max_size=2,
)
documents = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 2, "1", None]), "scenes": st.lists(scenes, max_size=4)},
    optional={
        "providers": providers,
        "defaults": st.dictionaries(st.sampled_from([*SCENE_FIELDS, "provider"]), values, max_size=3),
        "budget": values,
        "output_dir": values,
    },
)


@FUZZ
@given(document=documents)
def test_any_manifest_shaped_document_loads_or_says_what_is_wrong(folder: Path, document: dict[str, Any]) -> None:
    check(refusal(folder, yaml.safe_dump(document, allow_unicode=True).encode()))
