"""Render keys of every kind of scene, pinned: they name paid renders in users' caches, locks and remotes.

A change to how a request is normalised must leave these digests alone, or bump KEY_VERSION on purpose (which
re-renders, and re-bills, every cached scene). The keys are computed the way a build computes them, from the
manifest in golden.yaml, not from a dict the test writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from renderkit.manifest.load import load_manifest
from renderkit.plan.plan import Previous, make_plan
from tests.manifest.conftest import PNG

GOLDEN = {
    "plain": "8a4fd0010e3ee3dc33ac8d69d935488662f6344d0b13ed5598d0097691322a3a",
    "openai": "b06f2f46f3886115671c424195a2d2e9eb4321add48cbb21880e5f572f6d57c0",
    "generations": "73cf2f0a030c57d571c324737927b9bb4eb13b41a1a02b595cbf6af2d73fef2b",
    "unified": "8ffa0b960e65142cb5cf09aff8377392e94b11b59ee487364a6386e57aba31ce",
    "take": "0479b1e4f20c651698da7b8445012251778380f3082563471737e226cddaf27d",
    "take-text": "6574b4245a81e41e2abbf317cbd0c713e58ea3502be55b7888bf68ed5bf6c679",
    "long": "8ffd2f34410a9c55f2ab53c5c14504d046a35fc2729d049efe817a74489fdaa3",
    "veo": "c8094a82749ea00b633c3f227c820d6bd2979c8365e2b258dbb17071ab8c5ad8",
    "image": "488f45a1c45928b28c7d4e6c018a3fbb341ca8d868c8f965fe05077bfd5c0094",
    "image-url": "273ba20436912bc7258dd8820783a476715bdc13639b344e1bfaa75c80190ba2",
    "remix": "c6baca2f21cc39581f5f6a8c6748cbc9663076a568644b20e1d37663d05f8089",
    "continued": "e54534f3ab235b5cd36eae4c14d9552fee1f9f73f92915772a369656dba38739",
    "extended": "7c89cbbe619e58c8ed1e23be2e1e3b52770c4a1968d3d25def30ace6e7f6c19b",
    "board": "d855d8f65078edb33e004e9cded8454609785de40ac8a98f9795a8fd718a6cb8",
    "board-shots": "754f896165f9a4b2b7825572bcc72a71a7911b0f3714cb911bae9c28e14c18e2",
    "board-shots#1": "d5fadc39d5c0220a70d7f05104672d4ec750b96ffff86991f0824838af380950",
    "board-shots#2": "f7c110bc259d880b62092c7e53ab98b869a33c86576233d1ed4cac92a2e2604c",
    "board-image": "b60dc4f9285ee2f6d70030836e1d39ca1324dae8468d1f7a9861e375ba6d86ab",
    "board-image#1": "3a4c2d571f713c5b15adb4c79d68ad34a423e111ade97f07b0b6e2f95f9d3a82",
    "board-image#2": "52ba7f993aef4fd228983355ee2f31012c0788ae77e8120b1b462a6dd4cd4258",
}


class NoState:
    """A cache and lock holding nothing."""

    def cached(self, key: str) -> bool:
        return False

    def previous(self, scene_id: str) -> Previous | None:
        return None

    def paid(self, key: str) -> str | None:
        return None


def test_every_kind_of_scene_keeps_its_key(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("golden.yaml"), tmp_path / "renderkit.yaml")
    (tmp_path / "ref.png").write_bytes(PNG)
    plan = make_plan(load_manifest(tmp_path / "renderkit.yaml"), NoState())
    keys = {}
    for item in plan.items:
        keys[item.scene.id] = item.key
        keys.update((f"{item.scene.id}#{n}", shot.key) for n, shot in enumerate(item.shots, 1))
    assert keys == GOLDEN
