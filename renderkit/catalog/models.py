"""The model catalog (data/models.json): each model's sizes, lengths, price and the provider kinds that serve it.

A manifest's ``models:`` adds entries or overrides fields of these (``Catalog.merged``). A limit the catalog does
not know (``None``) is not checked, and an unknown price is an unknown cost, never $0.00.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from renderkit.catalog.kinds import KINDS

ANY_SIZE = "*"  # usd_per_second key for a price that does not depend on the size


@dataclass(frozen=True)
class ModelInfo:
    """What one model accepts and what it costs; None where renderkit does not know."""

    name: str
    kinds: frozenset[str]
    sizes: tuple[str, ...] | None
    seconds: tuple[int, ...] | None
    default_size: str | None
    default_seconds: int | None
    usd_per_second: Mapping[str, float]

    def price(self, size: str) -> float | None:
        """USD per second of video at ``size``, or None when not known."""
        return self.usd_per_second.get(size, self.usd_per_second.get(ANY_SIZE))


@dataclass(frozen=True)
class Catalog:
    """Every known model."""

    default_model: str
    models: Mapping[str, ModelInfo]

    def model(self, name: str) -> ModelInfo | None:
        """The catalog entry for ``name``, or None for a model renderkit does not know."""
        return self.models.get(name)

    def cost(self, model: str, size: str, seconds: int) -> float | None:
        """Estimated USD for one render, or None when the model or its price at this size is not known."""
        info = self.models.get(model)
        price = None if info is None else info.price(size)
        return None if price is None else round(price * seconds, 6)

    def merged(self, overrides: Mapping[str, Mapping[str, Any]]) -> Catalog:
        """This catalog with a manifest's ``models:`` applied: new models added, given fields replaced."""
        if not overrides:
            return self
        models = dict(self.models)
        for name, fields in overrides.items():
            base = models.get(name) or ModelInfo(name, frozenset(KINDS), None, None, None, None, {})
            changes: dict[str, Any] = {}
            if "kinds" in fields:
                changes["kinds"] = frozenset(fields["kinds"])
            if "sizes" in fields:
                changes["sizes"] = tuple(fields["sizes"])
                changes["default_size"] = fields["sizes"][0]
            if "seconds" in fields:
                changes["seconds"] = tuple(int(s) for s in fields["seconds"])
                changes["default_seconds"] = int(fields["seconds"][0])
            if "usd_per_second" in fields:
                changes["usd_per_second"] = {ANY_SIZE: float(fields["usd_per_second"])}
            models[name] = replace(base, **changes)
        return Catalog(self.default_model, models)


def _tuple(value: list[Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


@functools.cache
def catalog() -> Catalog:
    """The packaged catalog, parsed once per process."""
    # Beside this module, as setuptools installs it (see renderkit.manifest.schema.PACKAGE).
    raw = json.loads((Path(__file__).parent / "data" / "models.json").read_text(encoding="utf-8"))
    models = {
        name: ModelInfo(
            name=name,
            kinds=frozenset(m["kinds"]),
            sizes=_tuple(m["sizes"]),
            seconds=_tuple(m["seconds"]),
            default_size=m["default_size"],
            default_seconds=m["default_seconds"],
            usd_per_second=dict(m["usd_per_second"] or {}),
        )
        for name, m in raw["models"].items()
    }
    return Catalog(default_model=raw["default_model"], models=models)
