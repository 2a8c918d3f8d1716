"""The model catalog (data/models.json): each model's sizes, lengths, price and the provider kinds that serve it."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ModelInfo:
    """What one model accepts and what it costs."""

    name: str
    kinds: frozenset[str]
    sizes: tuple[str, ...]
    seconds: tuple[int, ...]
    default_size: str
    default_seconds: int
    usd_per_second: Mapping[str, float]


@dataclass(frozen=True)
class Catalog:
    """Every known model."""

    default_model: str
    models: Mapping[str, ModelInfo]

    def model(self, name: str) -> ModelInfo | None:
        """The catalog entry for ``name``, or None for a model renderkit does not know."""
        return self.models.get(name)

    def cost(self, model: str, size: str, seconds: int) -> float | None:
        """Estimated USD for one render, or None when the model or size has no known price."""
        info = self.models.get(model)
        price = None if info is None else info.usd_per_second.get(size)
        return None if price is None else round(price * seconds, 6)


@functools.cache
def catalog() -> Catalog:
    """The packaged catalog, parsed once per process."""
    raw = json.loads(resources.files("renderkit.catalog").joinpath("data/models.json").read_text(encoding="utf-8"))
    models = {
        name: ModelInfo(
            name=name,
            kinds=frozenset(m["kinds"]),
            sizes=tuple(m["sizes"]),
            seconds=tuple(m["seconds"]),
            default_size=m["default_size"],
            default_seconds=m["default_seconds"],
            usd_per_second=dict(m["usd_per_second"]),
        )
        for name, m in raw["models"].items()
    }
    return Catalog(default_model=raw["default_model"], models=models)
