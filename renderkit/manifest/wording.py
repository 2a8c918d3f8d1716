"""Wording shared by diagnostics: how values, alternatives and near misses are named."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def describe(value: object) -> str:
    """A short description of a value for messages, e.g. ``the number 750`` or ``a list``."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def or_list(words: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items: list[str] = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """``did you mean 'x'?`` for the closest of ``choices``, or an empty string."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
