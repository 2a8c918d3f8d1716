"""Render keys: invariant under formatting, comments, key order, scene order, base URLs and API keys;
sensitive to every field that changes the video."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from renderkit.manifest.load import load_manifest
from renderkit.plan.plan import Previous, make_plan
from renderkit.request import canonical_json
from tests.manifest.conftest import PNG

SETTINGS = settings(max_examples=25, deadline=None)

text = st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=30).filter(str.strip)
scene_st = st.fixed_dictionaries(
    {"prompt": text, "size": st.sampled_from(["720x1280", "1280x720"]), "seconds": st.sampled_from([4, 8, 12])},
    optional={"take": st.one_of(st.integers(0, 9), st.sampled_from(["b", "director"])), "image": st.just("ref.png")},
)
manifest_st = st.lists(scene_st, min_size=1, max_size=5).map(
    lambda scenes: [{"id": f"s{i}", **s} for i, s in enumerate(scenes)]
)


class NoState:
    """A cache and lock holding nothing."""

    def cached(self, key: str) -> bool:
        return False

    def previous(self, scene_id: str) -> Previous | None:
        return None

    def paid(self, key: str) -> str | None:
        return None


def keys_of(text_: str, files: dict[str, bytes] | None = None) -> dict[str, str]:
    """The render key of every scene of a manifest written as ``text_``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in (files or {"ref.png": PNG}).items():
            (root / name).write_bytes(data)
        (root / "renderkit.yaml").write_text(text_, encoding="utf-8")
        plan = make_plan(load_manifest(root / "renderkit.yaml"), NoState())
    return {item.scene.id: item.key for item in plan.items}


def block_yaml(scenes: list[dict[str, Any]], provider: dict[str, Any]) -> str:
    doc = {"version": 1, "providers": {"main": provider}, "scenes": scenes}
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True)


def flow_yaml(scenes: list[dict[str, Any]], provider: dict[str, Any]) -> str:
    """The same manifest in reverse key order, flow style, with comments and the scenes reversed."""
    lines = ["# a comment", "scenes:"]
    for scene in reversed(scenes):
        # JSON is YAML flow syntax, with every string double-quoted and escaped.
        items = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in reversed(scene.items()))
        lines += [f"  - {{{items}}}  # scene {scene['id']}"]
    provider_items = ", ".join(f"{k}: {v}" for k, v in reversed(provider.items()))
    lines += [f"providers: {{main: {{{provider_items}}}}}", "version: 1   # trailing comment", ""]
    return "\n".join(lines)


@SETTINGS
@given(manifest_st)
def test_keys_ignore_formatting_comments_order_base_url_and_api_key(scenes: list[dict[str, Any]]) -> None:
    first = {"kind": "openai", "base_url": "https://api.openai.com", "api_key_env": "OPENAI_API_KEY"}
    second = {"kind": "openai", "base_url": "http://127.0.0.1:8000", "api_key_env": "OTHER_KEY", "rpm": 5}
    assert keys_of(block_yaml(scenes, first)) == keys_of(flow_yaml(scenes, second))


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "prompt": lambda s: s.update(prompt=s["prompt"] + " again"),
    "size": lambda s: s.update(size="1280x720" if s["size"] == "720x1280" else "720x1280"),
    "seconds": lambda s: s.update(seconds=8 if s["seconds"] != 8 else 12),
    "model": lambda s: s.update(model="sora-2-pro"),
    "take": lambda s: s.update(take=str(s.get("take", "")) + "x"),
    "image": lambda s: s.update(image="other.png"),
    "storyboard": lambda s: s.update(storyboard=[{"prompt": "shot", "seconds": s["seconds"]}]),
}


@SETTINGS
@given(manifest_st, st.data())
def test_keys_change_with_every_output_field(scenes: list[dict[str, Any]], data: st.DataObject) -> None:
    provider = {"kind": "openai"}
    files = {"ref.png": PNG, "other.png": PNG + b"different"}
    before = keys_of(block_yaml(scenes, provider), files)
    index = data.draw(st.integers(0, len(scenes) - 1))
    field = data.draw(st.sampled_from(sorted(MUTATIONS)))
    MUTATIONS[field](scenes[index])
    after = keys_of(block_yaml(scenes, provider), files)
    changed = {sid for sid in before if before[sid] != after[sid]}
    assert changed == {f"s{index}"}, field


def test_key_changes_with_provider_kind_and_image_content_not_its_name() -> None:
    base = "version: 1\nproviders: {p: {kind: KIND}}\nscenes:\n  - {id: a, prompt: x, image: IMG}\n"
    openai = keys_of(base.replace("KIND", "openai").replace("IMG", "ref.png"))
    assert keys_of(base.replace("KIND", "generations").replace("IMG", "ref.png")) != openai
    assert keys_of(base.replace("KIND", "openai").replace("IMG", "copy.png"), {"copy.png": PNG}) == openai
    assert keys_of(base.replace("KIND", "openai").replace("IMG", "ref.png"), {"ref.png": PNG + b"!"}) != openai


def test_remix_key_follows_its_upstream() -> None:
    text_ = "version: 1\nscenes:\n  - {id: day, prompt: PROMPT}\n  - {id: night, remix_of: day, prompt: night}\n"
    one, two = keys_of(text_.replace("PROMPT", "a city")), keys_of(text_.replace("PROMPT", "a town"))
    assert one["day"] != two["day"]
    assert one["night"] != two["night"]


@pytest.mark.parametrize("field", ["continue_from", "extend_of"])
def test_continuation_and_extension_keys_follow_their_upstream(field: str) -> None:
    text_ = f"version: 1\nscenes:\n  - {{id: a, prompt: PROMPT}}\n  - {{id: b, {field}: a, prompt: next}}\n"
    one, two = keys_of(text_.replace("PROMPT", "a city")), keys_of(text_.replace("PROMPT", "a town"))
    assert one["b"] != two["b"]
    remix = keys_of(text_.replace("PROMPT", "a city").replace(field, "remix_of"))
    assert remix["a"] == one["a"]
    assert remix["b"] != one["b"], "the key says how the scene builds on its upstream"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_fast_canonical_json_is_byte_identical_to_rfc8785(value: dict[str, Any]) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        assume(False)  # values RFC 8785 cannot encode (lone surrogates, huge integers) are not requests
    assert canonical_json(value) == expected


def test_block_scalars_crlf_and_flow_style_keep_the_key() -> None:
    plain = keys_of("version: 1\nscenes:\n  - id: a\n    prompt: a boat on a rainy street\n")
    folded = keys_of("version: 1\nscenes:\n  - id: a\n    prompt: >\n      a boat\n      on a rainy street\n")
    crlf = keys_of("version: 1\r\nscenes:\r\n  - id: a\r\n    prompt: 'a boat on a rainy street'\r\n")
    flow = keys_of('{"version": 1, "scenes": [{"prompt": "a boat on a rainy street", "id": "a"}]}')
    assert plain == folded == crlf == flow
