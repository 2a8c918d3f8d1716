"""The manifest schema: valid Draft 2020-12, documented for editors; our validator agrees with jsonschema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # the oracle only; renderkit itself never imports it
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderkit.errors import InputError
from renderkit.manifest.document import read_yaml
from renderkit.manifest.schema import Validator, manifest_schema, manifest_validator

HERE = Path(__file__).parent
EXAMPLES = sorted((HERE.parent.parent / "examples").glob("*.yaml"))


CORPUS = sorted((HERE / "bad").glob("*.yaml"))


def oracle() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(manifest_schema())


def test_schema_is_valid_draft_2020_12_with_id_and_examples() -> None:
    schema = manifest_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/manifest.v1.schema.json")
    for example in schema["examples"]:
        assert oracle().is_valid(example)


def test_every_property_has_hover_help() -> None:
    schema = manifest_schema()
    missing = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                target = schema["$defs"][sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
                if "description" not in target:
                    missing.append(f"{where}.{name}")
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(schema, "$")
    assert missing == []


def test_the_packaged_schema_is_the_repository_file() -> None:
    import json

    assert manifest_schema() == json.loads((HERE.parent.parent / "schemas" / "manifest.v1.schema.json").read_text())
    assert manifest_validator() is manifest_validator()


def test_unsupported_keywords_are_refused() -> None:
    with pytest.raises(ValueError, match="oneOf"):
        Validator({"oneOf": [{"type": "string"}]})


@pytest.mark.parametrize("path", EXAMPLES + CORPUS, ids=lambda p: p.stem)
def test_validator_agrees_with_jsonschema_on_examples_and_corpus(path: Path) -> None:
    try:
        doc, _ = read_yaml(path, path.name)
    except InputError:
        # YAML itself rejects it, so it never reaches either validator; no example may be such a file.
        assert path in CORPUS
        return
    assert (manifest_validator().issues(doc.data) == []) == oracle().is_valid(doc.data)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 20) | st.floats(-2, 20, allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
# Every field the schema defines (so the test widens as the schema grows), plus near misses.
SCENE_FIELDS = sorted(manifest_schema()["$defs"]["scene"]["properties"])
PROVIDER_FIELDS = sorted(manifest_schema()["$defs"]["provider"]["properties"])
field_names = st.sampled_from([*SCENE_FIELDS, "promt", "x-extra"])
plausible = st.sampled_from(
    ["a", "a-b", "1280x720", "https://x.example/a.png", 4, 0, -1, True, [{"prompt": "x", "seconds": 2}]]
)
scene = st.dictionaries(field_names, st.one_of(json_value, plausible))
provider = st.fixed_dictionaries(
    {"kind": st.sampled_from(["openai", "generations", "unified", "simulator", "x"])},
    optional={name: st.one_of(json_value, plausible) for name in PROVIDER_FIELDS if name != "kind"},
)
manifest = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 2, "1"]), "scenes": st.lists(scene, max_size=3)},
    optional={
        "providers": st.dictionaries(st.sampled_from(["a", "", "b c"]), provider, max_size=2),
        "budget": json_value,
        "output_dir": json_value,
        "defaults": st.dictionaries(field_names, json_value, max_size=2),
    },
)


@settings(max_examples=300, deadline=None)
@given(manifest)
def test_validator_agrees_with_jsonschema_on_generated_manifests(data: dict[str, Any]) -> None:
    assert (manifest_validator().issues(data) == []) == oracle().is_valid(data)
