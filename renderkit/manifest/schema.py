"""The only code that knows where schemas live: loads them once and compiles each validator once.

The manifest validator interprets the subset of JSON Schema 2020-12 that renderkit's schemas use, compiled
into closures: importing and running jsonschema would cost more than the rest of a no-op build. A schema using
any other keyword is refused when compiled, and the tests check that jsonschema agrees on every example and
every bad manifest in the corpus.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderkit.manifest.wording import describe, did_you_mean, or_list

PathKey = tuple[str | int, ...]

SUPPORTED_VERSIONS = (1,)

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default"})
_TYPES: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


@dataclass(frozen=True)
class Issue:
    """One way an instance breaks the schema; ``at_key`` points at a mapping key rather than its value."""

    path: PathKey
    code: str
    message: str
    expected: tuple[str, ...] = ()
    at_key: bool = False


Check = Callable[[object, PathKey, list[Issue]], None]


# The packaged schemas: renderkit.yaml's, and that of every --json document (which scripts validate against).
# Read beside the package's files, as setuptools installs them (never zipped): importlib.resources would load
# zipfile, bz2, lzma and tempfile into every command, about 8 ms.
PACKAGE = Path(__file__).resolve().parent.parent
SCHEMA_FILES = {"manifest": "manifest.v1.schema.json", "output": "output.v1.schema.json"}


def schema_text(which: str) -> str:
    """A packaged schema, byte for byte (what ``renderkit schema`` prints)."""
    return (PACKAGE / "schemas" / SCHEMA_FILES[which]).read_text(encoding="utf-8")


@functools.cache
def manifest_schema() -> Mapping[str, Any]:
    """The manifest v1 JSON Schema, parsed once."""
    schema: dict[str, Any] = json.loads(schema_text("manifest"))
    return schema


@functools.cache
def manifest_validator() -> Validator:
    """The manifest v1 validator, compiled once."""
    return Validator(manifest_schema())


class Validator:
    """A schema compiled into checks; ``issues(instance)`` lists every violation."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._root = schema
        self._refs: dict[str, Check] = {}
        self._check = self._compile(schema)

    def issues(self, instance: object) -> list[Issue]:
        """Every violation, in document order."""
        out: list[Issue] = []
        self._check(instance, (), out)
        return out

    def _compile(self, schema: Mapping[str, Any]) -> Check:
        unknown = set(schema) - _ANNOTATIONS - set(_KEYWORDS)
        if unknown:
            raise ValueError(f"schema keywords not supported by renderkit.manifest.schema: {sorted(unknown)}")
        checks = [_KEYWORDS[k](self, schema) for k in _KEYWORDS if k in schema]
        checks = [c for c in checks if c is not None]

        def check(value: object, path: PathKey, out: list[Issue]) -> None:
            for c in checks:
                c(value, path, out)

        return check

    def _ref(self, ref: str) -> Check:
        if ref not in self._refs:
            if not ref.startswith("#/$defs/"):
                raise ValueError(f"only local #/$defs/ references are supported, not {ref!r}")
            # Registered before compiling so that recursive definitions terminate.
            self._refs[ref] = lambda v, p, o: target(v, p, o)
            target = self._compile(self._root["$defs"][ref.removeprefix("#/$defs/")])
            self._refs[ref] = target
        return self._refs[ref]


def _type(v: Validator, s: Mapping[str, Any]) -> Check:
    names = (s["type"],) if isinstance(s["type"], str) else tuple(s["type"])
    tests = [_TYPES[n] for n in names]
    # Most values are text, mappings or lists: one isinstance answers for them without calling the tests.
    plain = tuple(t for n, t in (("string", str), ("object", dict), ("array", list)) if n in names)

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if not isinstance(value, plain) and not any(t(value) for t in tests):
            message = f"expected {or_list(_TYPE_WORDS[n] for n in names)}, got {describe(value)}"
            out.append(Issue(path, "type", message, names))

    return check


def _const(v: Validator, s: Mapping[str, Any]) -> Check:
    want = s["const"]

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if not _equal(value, want):
            out.append(Issue(path, "const", f"must be {json.dumps(want)}, not {describe(value)}"))

    return check


def _enum(v: Validator, s: Mapping[str, Any]) -> Check:
    allowed = list(s["enum"])

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if not any(_equal(value, a) for a in allowed):
            words = [str(a) for a in allowed]
            hint = did_you_mean(value, words) or f"use one of: {', '.join(words)}"
            out.append(Issue(path, "enum", f"{describe(value)} is not allowed; {hint}"))

    return check


def _properties(v: Validator, s: Mapping[str, Any]) -> Check:
    props = {name: v._compile(sub) for name, sub in s["properties"].items()}

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if isinstance(value, dict):
            for name, sub in props.items():
                if name in value:
                    sub(value[name], (*path, name), out)

    return check


def _additional(v: Validator, s: Mapping[str, Any]) -> Check:
    known = list(s.get("properties", {}))
    extra = s["additionalProperties"]
    sub = None if isinstance(extra, bool) else v._compile(extra)

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            return
        for name, item in value.items():
            if name in known:
                continue
            if sub is not None:
                sub(item, (*path, name), out)
            elif extra is False:
                hint = did_you_mean(name, known) or f"expected one of: {', '.join(known)}"
                out.append(Issue((*path, name), "unknown-field", f"unknown field {name!r}; {hint}", at_key=True))

    return check


def _property_names(v: Validator, s: Mapping[str, Any]) -> Check:
    sub = v._compile(s["propertyNames"])

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if isinstance(value, dict):
            for name in value:
                found: list[Issue] = []
                sub(name, (*path, name), found)
                out.extend(Issue(i.path, i.code, f"name {i.message}", at_key=True) for i in found)

    return check


def _required(v: Validator, s: Mapping[str, Any]) -> Check:
    names = tuple(s["required"])

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if isinstance(value, dict):
            for name in names:
                if name not in value:
                    out.append(Issue((*path, name), "required", f"missing required field {name!r}; add it"))

    return check


def _items(v: Validator, s: Mapping[str, Any]) -> Check:
    sub = v._compile(s["items"])

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                sub(item, (*path, i), out)

    return check


def _at_least(keyword: str, kind: type, message: str) -> Callable[[Validator, Mapping[str, Any]], Check]:
    """A minimum-size keyword (minItems, minLength, minProperties); ``message`` may use {least}."""

    def compile_keyword(v: Validator, s: Mapping[str, Any]) -> Check:
        least = s[keyword]
        text = message.format(least=least)

        def check(value: object, path: PathKey, out: list[Issue]) -> None:
            if isinstance(value, kind) and len(value) < least:  # type: ignore[arg-type]
                out.append(Issue(path, "too-short", text))

        return check

    return compile_keyword


def _max_length(v: Validator, s: Mapping[str, Any]) -> Check:
    most = s["maxLength"]

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if isinstance(value, str) and len(value) > most:
            out.append(Issue(path, "max-length", f"is longer than {most} characters; shorten it"))

    return check


def _pattern(v: Validator, s: Mapping[str, Any]) -> Check:
    regex = re.compile(s["pattern"])
    rule = s["description"].split(". ")[0].rstrip(".") if "description" in s else f"must match {s['pattern']}"

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if isinstance(value, str) and not regex.search(value):
            out.append(Issue(path, "pattern", f"{value!r} is not valid here; expected: {rule}"))

    return check


def _minimum(v: Validator, s: Mapping[str, Any]) -> Check:
    least = s["minimum"]

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if _TYPES["number"](value) and value < least:
            out.append(Issue(path, "minimum", f"must be at least {least}, not {value}"))

    return check


def _exclusive_minimum(v: Validator, s: Mapping[str, Any]) -> Check:
    bound = s["exclusiveMinimum"]

    def check(value: object, path: PathKey, out: list[Issue]) -> None:
        if _TYPES["number"](value) and value <= bound:
            out.append(Issue(path, "minimum", f"must be greater than {bound}, not {value}"))

    return check


_KEYWORDS: dict[str, Callable[[Validator, Mapping[str, Any]], Check]] = {
    "$ref": lambda v, s: v._ref(s["$ref"]),
    "type": _type,
    "const": _const,
    "enum": _enum,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "minProperties": _at_least("minProperties", dict, "needs at least {least} entry; add one or remove the key"),
    "items": _items,
    "minItems": _at_least("minItems", list, "needs at least {least} item; add one or remove the key"),
    "minLength": _at_least("minLength", str, "must not be empty"),
    "maxLength": _max_length,
    "pattern": _pattern,
    "minimum": _minimum,
    "exclusiveMinimum": _exclusive_minimum,
}

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
    "object": "a mapping",
    "array": "a list",
}


def _equal(a: object, b: object) -> bool:
    """JSON equality: 1 == 1.0 but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b
