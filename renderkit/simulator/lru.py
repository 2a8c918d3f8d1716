"""Rendered bytes kept by the simulator, least recently used first out, within a budget of total length."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class BytesLRU:
    """Byte strings by key; adding past the budget drops the least recently used (never the only one)."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._held = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> bytes | None:
        """The bytes kept for ``key``, now the most recently used, or None."""
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: Hashable, data: bytes) -> None:
        """Keep ``data`` for ``key`` (a key already kept keeps its bytes), then drop the oldest past the budget."""
        if key in self._items:
            return
        self._items[key] = data
        self._held += len(data)
        while self._held > self._budget and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._held -= len(old)
