"""The public API's export list matches its public names."""

from __future__ import annotations

import types

import renderkit


def test_all_is_sorted_and_complete() -> None:
    public = {
        n
        for n, v in vars(renderkit).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert list(renderkit.__all__) == sorted(renderkit.__all__)
    assert set(renderkit.__all__) - {"__version__"} == public
