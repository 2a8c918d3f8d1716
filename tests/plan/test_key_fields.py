"""Every field of a render request's identity changes its key, and nothing else does; checked field by field.

``Request.identity()`` is what the render key hashes. The table below changes each of its fields in every way a
manifest can (and the test fails when identity() grows a field the table does not change), so a field dropped
from the key, or two requests that collide, show here. Golden digests pin the canonical JSON the key hashes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, cast

import pytest
import rfc8785

import renderkit.request
from renderkit.request import ImageRef, Request, Shot, canonical_json, render_key

UPSTREAM = "u" * 64
BASE = Request(
    kind="simulator",
    model="sora-2",
    prompt="A paper boat",
    size="1280x720",
    seconds=4,
    take="1",
    image=ImageRef(path=Path("images/boat.png"), url=None, sha256="a" * 64),
)
BOARD = dataclasses.replace(BASE, image=None, storyboard=(Shot("Wide shot", 4), Shot("The boat leaves", 4)))


def change(**fields: object) -> Request:
    return dataclasses.replace(BASE, **fields)  # type: ignore[arg-type]


# For each field of the identity, requests that differ from BASE in that field alone.
VARIANTS: dict[str, list[Request]] = {
    "kind": [change(kind="openai"), change(kind="generations"), change(kind="unified")],
    "model": [change(model="sora-2-pro")],
    "prompt": [change(prompt="A paper boat."), change(prompt="a paper boat"), change(prompt="A paper boat ")],
    "size": [change(size="720x1280")],
    "seconds": [change(seconds=8), change(seconds=12)],
    "take": [change(take=None), change(take="2"), change(take="01")],
    "image": [
        change(image=None),
        change(image=ImageRef(path=Path("images/boat.png"), url=None, sha256="b" * 64)),
        change(image=ImageRef(path=None, url="https://img.example/boat.png", sha256=None)),
        change(image=ImageRef(path=None, url="https://img.example/other.png", sha256=None)),
    ],
    "storyboard": [
        BOARD,
        dataclasses.replace(BOARD, storyboard=(Shot("Wide shot", 4), Shot("The boat leaves", 8))),
        dataclasses.replace(BOARD, storyboard=(Shot("Wide shot", 4), Shot("The boat sinks", 4))),
        dataclasses.replace(BOARD, storyboard=(Shot("The boat leaves", 4), Shot("Wide shot", 4))),
        dataclasses.replace(BOARD, storyboard=(Shot("Wide shot", 4),)),
    ],
    "remix_of": [change(link="remix_of", upstream_key=UPSTREAM), change(link="remix_of", upstream_key="v" * 64)],
    "continue_from": [change(link="continue_from", upstream_key=UPSTREAM)],
    "extend_of": [change(link="extend_of", upstream_key=UPSTREAM)],
    "shot": [change(shot=True)],
}
CASES = [(name, i) for name, variants in VARIANTS.items() for i in range(len(variants))]


def test_the_table_changes_every_field_of_the_identity() -> None:
    fields = set(BASE.identity())
    for variants in VARIANTS.values():
        for variant in variants:
            fields |= set(variant.identity())
    assert fields - {"key_version"} == set(VARIANTS), "a field of Request.identity() that no variant changes"


@pytest.mark.parametrize(("field", "index"), CASES)
def test_changing_one_field_changes_the_key(field: str, index: int) -> None:
    variant = VARIANTS[field][index]
    assert variant.identity().get(field) != BASE.identity().get(field), "the variant changes this field"
    assert variant.key != BASE.key


def test_no_two_requests_of_the_table_share_a_key() -> None:
    requests = [BASE, *(v for variants in VARIANTS.values() for v in variants)]
    assert len({r.key for r in requests}) == len(requests)


def test_the_key_version_is_part_of_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = [BASE.identity(), BOARD.identity(), change(shot=True).identity()]
    monkeypatch.setattr(renderkit.request, "KEY_VERSION", 2)
    after = [BASE.identity(), BOARD.identity(), change(shot=True).identity()]
    for old, new in zip(before, after, strict=True):
        assert (old["key_version"], new["key_version"]) == (1, 2)
        assert render_key(old) != render_key(new)


def test_an_image_file_is_keyed_by_its_content_never_by_its_name() -> None:
    renamed = change(image=ImageRef(path=Path("elsewhere/copy.png"), url=None, sha256="a" * 64))
    assert renamed.key == BASE.key
    assert BASE.identity()["image"] == {"sha256": "a" * 64}
    assert VARIANTS["image"][2].identity()["image"] == {"url": "https://img.example/boat.png"}


def test_the_identity_of_a_plain_request_is_pinned() -> None:
    assert BASE.identity() == {
        "key_version": 1,
        "kind": "simulator",
        "model": "sora-2",
        "prompt": "A paper boat",
        "size": "1280x720",
        "seconds": 4,
        "take": "1",
        "image": {"sha256": "a" * 64},
        "remix_of": None,
        "storyboard": None,
    }
    assert BOARD.identity()["storyboard"] == [
        {"prompt": "Wide shot", "seconds": 4},
        {"prompt": "The boat leaves", "seconds": 4},
    ]
    assert change(link="continue_from", upstream_key=UPSTREAM).identity()["continue_from"] == UPSTREAM
    assert change(link="continue_from", upstream_key=UPSTREAM).identity()["remix_of"] is None
    assert change(link="extend_of", upstream_key=UPSTREAM).identity()["extend_of"] == UPSTREAM
    assert change(link="remix_of", upstream_key=UPSTREAM).identity()["remix_of"] == UPSTREAM
    assert "continue_from" not in change(link="remix_of", upstream_key=UPSTREAM).identity()


def test_the_key_is_the_sha256_of_the_canonical_json() -> None:
    expected = hashlib.sha256(rfc8785.dumps(cast(Any, BASE.identity()))).hexdigest()
    assert BASE.key == render_key(BASE.identity()) == expected
    # Pinned like tests/plan/test_golden_keys.py: these digests name paid renders in caches, locks and remotes.
    assert BASE.key == "06c32cd89b9f3d45bfcfac5fbfdfba3ca77aae052d9ae4c9ccfc29ea5844927c"
    assert BOARD.key == "698538286f3adf3f2bbda3cb2677b346e67b4e91e28452525ba05320319dbd51"
    assert change(link="continue_from", upstream_key=UPSTREAM).key == (
        "d86a74ef11eef330b0c5400156b5c6374ea0c6af63873ff97ca1abfca0f038ad"
    )


# Shots of a storyboard that its kind renders one by one ---------------------------------------------------------


def test_each_shot_has_a_key_of_its_own_and_the_first_carries_the_image() -> None:
    board = dataclasses.replace(BOARD, kind="unified", image=ImageRef(None, "https://img.example/boat.png", None))
    first, second = board.shot_requests()
    assert (first.prompt, first.seconds, second.prompt, second.seconds) == ("Wide shot", 4, "The boat leaves", 4)
    assert first.shot
    assert second.shot
    assert (first.kind, first.model, first.size, first.take) == ("unified", "sora-2", "1280x720", "1")
    assert first.image == board.image
    assert second.image is None
    assert first.identity() == {
        "key_version": 1,
        "kind": "unified",
        "model": "sora-2",
        "prompt": "Wide shot",
        "size": "1280x720",
        "seconds": 4,
        "take": "1",
        "image": {"url": "https://img.example/boat.png"},
        "shot": True,
    }
    assert first.key != second.key
    plain = Request("unified", "sora-2", "Wide shot", "1280x720", 4, take="1")
    assert first.key != dataclasses.replace(plain, image=board.image).key, "a shot is not the same as a scene"


@pytest.mark.parametrize(
    "options",
    [{"private": True}, {"aspect_ratio": "16:9"}, {"extra": {"seed": 7}}],
)
def test_every_shot_carries_the_scenes_options(options: dict[str, object]) -> None:
    """Shot by shot, each shot is its own render: an option of the scene must reach each body and each key."""
    board = dataclasses.replace(BOARD, kind="unified", **options)  # type: ignore[arg-type]
    for plain, shot in zip(BOARD.shot_requests(), board.shot_requests(), strict=True):
        assert {name: getattr(shot, name) for name in options} == options
        assert shot.key != plain.key


def test_editing_one_shot_changes_only_that_shots_key() -> None:
    before = BOARD.shot_requests()
    after = dataclasses.replace(BOARD, storyboard=(Shot("Wide shot", 4), Shot("The boat sinks", 4))).shot_requests()
    assert before[0].key == after[0].key
    assert before[1].key != after[1].key


def test_a_continued_storyboard_starts_its_first_shot_from_the_upstream_frame() -> None:
    board = dataclasses.replace(BOARD, link="continue_from", upstream_key=UPSTREAM)
    first, second = board.shot_requests()
    assert (first.link, first.upstream_key) == ("continue_from", UPSTREAM)
    assert (second.link, second.upstream_key) == (None, None)
    assert first.identity()["image"] == {"last_frame_of": UPSTREAM}
    assert second.identity()["image"] is None
    other = dataclasses.replace(board, upstream_key="v" * 64).shot_requests()
    assert other[0].key != first.key
    assert other[1].key == second.key, "only the first shot builds on the upstream"


def test_a_remixed_storyboard_does_not_pass_its_link_to_its_shots() -> None:
    first, second = dataclasses.replace(BOARD, link="remix_of", upstream_key=UPSTREAM).shot_requests()
    assert (first.link, first.upstream_key, second.link) == (None, None, None)


# The canonical JSON the key hashes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, None, "é"], "c": {"z": "x", "y": 2**53 - 1}},
        {"n": -(2**53) + 1, "s": "\u2028 \u00e9 \U0001f600"},
        {"x": 1.0, "y": [0.5, 1e21]},  # floats go through rfc8785, which writes 1.0 as 1
        {"\U0001f600": 1, "\uffff": 2},  # keys outside ASCII sort by UTF-16 code units, not by code points
    ],
)
def test_canonical_json_is_rfc8785(value: dict[str, Any]) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [{"n": 2**53}, {"n": -(2**53)}, {"n": 2**53 + 1}, {"n": -(2**53) - 1}, {"p": "\ud800"}, {"p": ["\udfff"]}],
)
def test_what_rfc8785_refuses_is_refused(value: dict[str, Any]) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps(value)
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json(value)


def test_canonical_json_golden_bytes() -> None:
    assert (
        canonical_json({"b": [1, "é", None, False], "a": {"c": "x"}})
        == '{"a":{"c":"x"},"b":[1,"é",null,false]}'.encode()
    )
